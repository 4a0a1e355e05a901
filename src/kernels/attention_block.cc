#include "kernels/attention_block.h"

#include <algorithm>
#include <cmath>

#include "core/fp16.h"
#include "kernels/attention_f16_order.h"
#include "kernels/attention_tiny.h"
#include "kernels/attention_vec_dot.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {

BlockScratch& ThreadBlockScratch() {
  thread_local BlockScratch scratch;
  return scratch;
}

void AttendBlock(const BlockShape& shape, const QueryRow* rows, int nq, BlockScratch& s) {
  // Blocks in the tinyBLAS order take up to tiny_attention::kMaxQueries rows, the others up
  // to vec_dot_attention::kMaxVectors.
  constexpr int kMax = std::max(tiny_attention::kMaxQueries, vec_dot_attention::kMaxVectors);
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
  // Rows that see fewer cells get a few scores they never read.
  if (shape.tiny_kq) {
    tiny_attention::Dots(s.k_rows.data(), n_keys, q16, nullptr, nq, dk, shape.scale, scores);
  } else {
    vec_dot_attention::Dots(fk, s.k_rows.data(), n_keys, q16, nq, dk, shape.scale, scores);
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
    uint16_t* p = s.p16.data() + a * p_len;
    f16_order::SoftmaxToF16(fk, scores[a], n_kv[a], p);
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
    // Dots scales each product by 1, which is exact.
    vec_dot_attention::Dots(fk, s.vt_rows.data(), dv, p16, nq, pad, 1.0f, out);
  } else {
    // Cell-major values (single-token rows): the one-product order.
    s.fold.resize(dv);
    bool same_cells = true;
    for (int a = 1; a < nq; ++a) same_cells = same_cells && n_kv[a] == n_kv[0];
    if (!shape.tiny_kqv && same_cells) {
      // One token's heads: every cell's values are read once for all of them.
      s.acc.resize(64 * dv * nq);
      vec_dot_attention::WeightedSums(fk, p16, nq, n_kv[0], pad, s.v_rows.data(), dv, s.acc.data(),
                                      s.fold.data(), out);
    } else {
      s.acc.resize(64 * dv);
      for (int a = 0; a < nq; ++a) {
        if (shape.tiny_kqv) {
          f16_order::WeightedSumF16(
              fk, true, p16[a], n_kv[a], pad, [&](int64_t j) { return s.v_rows[j]; }, dv,
              s.acc.data(), s.fold.data(), out[a]);
        } else {
          vec_dot_attention::WeightedSums(fk, &p16[a], 1, n_kv[a], pad, s.v_rows.data(), dv,
                                          s.acc.data(), s.fold.data(), &out[a]);
        }
      }
    }
  }
}

}  // namespace r1d::kernels
