#include "kernels/attention_block.h"

#include <algorithm>
#include <cmath>

#include "core/fp16.h"
#include "kernels/attention_f16_order.h"
#include "kernels/attention_tiny.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {

BlockScratch& ThreadBlockScratch() {
  thread_local BlockScratch scratch;
  return scratch;
}

void AttendBlock(const BlockShape& shape, const QueryRow* rows, int nq, BlockScratch& s) {
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  const int64_t dk = shape.dk, dv = shape.dv, pad = shape.n_kv_pad;
  int64_t n_keys = 0;
  for (int a = 0; a < nq; ++a) n_keys = std::max(n_keys, rows[a].n_kv);
  s.q16.resize(tiny_attention::kMaxQueries * dk);
  s.scores.resize(tiny_attention::kMaxQueries * pad);
  const uint16_t* q16[tiny_attention::kMaxQueries];
  float* scores[tiny_attention::kMaxQueries];
  for (int a = 0; a < nq; ++a) {
    uint16_t* q = s.q16.data() + a * dk;
    f16_order::ToF16Row(rows[a].q, q, dk);
    q16[a] = q;
    scores[a] = s.scores.data() + a * pad;
  }
  if (shape.tiny_kq) {
    // Rows that see fewer cells get a few scores they never read.
    tiny_attention::Scores(s.k_rows.data(), n_keys, q16, nq, dk, shape.scale, scores);
  } else {
    for (int a = 0; a < nq; ++a) {
      for (int64_t j = 0; j < rows[a].n_kv; ++j) {
        scores[a][j] = fk.vec_dot_f16(s.k_rows[j], q16[a], dk) * shape.scale;
      }
    }
  }
  s.p16.resize(pad);
  for (int a = 0; a < nq; ++a) {
    const int64_t n_kv = rows[a].n_kv;
    float max = -INFINITY;
    for (int64_t j = 0; j < n_kv; ++j) max = std::max(max, scores[a][j]);
    f16_order::SoftmaxToF16(fk, scores[a], max, n_kv, s.p16.data());
    if (shape.tiny_kqv) {
      s.p.resize(pad);
      for (int64_t j = 0; j < n_kv; ++j) s.p[j] = Fp16ToFp32(s.p16[j]);
      tiny_attention::WeightedSum(s.v_rows.data(), s.p.data(), n_kv, dv, rows[a].out);
    } else {
      s.acc.resize(64 * dv);
      s.fold.resize(dv);
      f16_order::WeightedSumF16(
          fk, false, s.p16.data(), n_kv, pad, [&](int64_t j) { return s.v_rows[j]; }, dv,
          s.acc.data(), s.fold.data(), rows[a].out);
    }
  }
}

}  // namespace r1d::kernels
