#pragma once
// Attention's two F16 products for single query tokens (decode), in the vec_dot order of
// llama.cpp's CPU graph (parity::VecDotF16, f16_order::WeightedSumF16 with tiny = false),
// computed many at a time. Every result has the bits of the one-product-at-a-time kernels
// (tests/kernels/attention_order_test.cc compares them); with AVX-512 the loads and
// conversions are shared between products and 16 horizontal sums run together.
#include <cstdint>

#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels::vec_dot_attention {

// Vectors one Dots call takes at once.
inline constexpr int kMaxVectors = 8;

// out[a][r] = parity::VecDotF16(rows[r], vecs[a], len) * scale for a < nv (<= kMaxVectors)
// and r < n_rows. `fk` computes them where AVX-512 is missing.
void Dots(const parity::FloatKernels& fk, const uint16_t* const* rows, int64_t n_rows,
          const uint16_t* const* vecs, int nv, int64_t len, float scale, float* const* out);

// out[a][d] = sum_j p16[a][j] * V_j[d] for a < nv (<= kMaxVectors) over the rows v_rows[j]
// (j < n_kv, the same cells for every vector): f16_order::WeightedSumF16(fk, false, ...) of
// each. acc holds 64 * dv * nv floats, fold dv.
void WeightedSums(const parity::FloatKernels& fk, const uint16_t* const* p16, int nv, int64_t n_kv,
                  int64_t n_kv_pad, const uint16_t* const* v_rows, int64_t dv, float* acc,
                  float* fold, float* const* out);

}  // namespace r1d::kernels::vec_dot_attention
