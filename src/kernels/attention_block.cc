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
  constexpr int kMax = tiny_attention::kMaxQueries;
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  const int64_t dk = shape.dk, dv = shape.dv, pad = shape.n_kv_pad;
  int64_t n_keys = 0;
  for (int a = 0; a < nq; ++a) n_keys = std::max(n_keys, rows[a].n_kv);
  s.q16.resize(kMax * dk);
  s.scores.resize(kMax * pad);
  const uint16_t* q16[kMax];
  float* scores[kMax];
  for (int a = 0; a < nq; ++a) {
    uint16_t* q = s.q16.data() + a * dk;
    f16_order::ToF16Row(rows[a].q, q, dk);
    q16[a] = q;
    scores[a] = s.scores.data() + a * pad;
  }
  if (shape.tiny_kq) {
    // Rows that see fewer cells get a few scores they never read.
    tiny_attention::Dots(s.k_rows.data(), n_keys, q16, nullptr, nq, dk, shape.scale, scores);
  } else {
    for (int a = 0; a < nq; ++a) {
      for (int64_t j = 0; j < rows[a].n_kv; ++j) {
        scores[a][j] = fk.vec_dot_f16(s.k_rows[j], q16[a], dk) * shape.scale;
      }
    }
  }
  // Softmax weights per row, zero past the row's cells (up to the transposed values' length).
  const int64_t p_len = std::max(pad, shape.vt_len);
  s.p16.resize(kMax * p_len);
  const uint16_t* p16[kMax];
  int64_t n_kv[kMax];
  float* out[kMax];
  for (int a = 0; a < nq; ++a) {
    n_kv[a] = rows[a].n_kv;
    out[a] = rows[a].out;
    float max = -INFINITY;
    for (int64_t j = 0; j < n_kv[a]; ++j) max = std::max(max, scores[a][j]);
    uint16_t* p = s.p16.data() + a * p_len;
    f16_order::SoftmaxToF16(fk, scores[a], max, n_kv[a], p);
    std::fill(p + n_kv[a], p + p_len, uint16_t{0});  // only the tail: the rest was just written
    p16[a] = p;
  }
  if (shape.vt_len > 0 && shape.tiny_kqv) {
    // Each row's product stops at its own last cell, as the reference's does.
    const int64_t len = (n_keys + 15) / 16 * 16;
    tiny_attention::Dots(s.vt_rows.data(), dv, p16, n_kv, nq, len, 1.0f, out);
  } else if (shape.vt_len > 0) {
    // vec_dot over the padded cells, as llama.cpp: weights past n_kv are zero, so those cells
    // add exact zeros. For a single row they are the zero padding; rows of a batch that stays
    // off tinyBLAS (a value size not a multiple of 4) also meet later cells, whose values are
    // then multiplied by zero (an infinite one would give NaN, as it would in llama.cpp).
    for (int a = 0; a < nq; ++a) {
      for (int64_t d = 0; d < dv; ++d) out[a][d] = fk.vec_dot_f16(s.vt_rows[d], p16[a], pad);
    }
  } else {
    // Cell-major values (single-token rows): the one-product order.
    s.acc.resize(64 * dv);
    s.fold.resize(dv);
    for (int a = 0; a < nq; ++a) {
      f16_order::WeightedSumF16(
          fk, shape.tiny_kqv, p16[a], n_kv[a], pad, [&](int64_t j) { return s.v_rows[j]; }, dv,
          s.acc.data(), s.fold.data(), out[a]);
    }
  }
}

}  // namespace r1d::kernels
