#pragma once
// Quantized matrix products that reuse each unpacked weight block for several activation rows
// (tokens), with every output bit-identical to the per-row llama.cpp-order dot product of
// cpu_reference_order.h: the integer lane sums of a block are exact whatever instructions
// compute them, and the float part (one fused multiply-add per block and lane, then the
// pairwise lane sum) is kept as it is. Only the work around it changes: scales are unpacked
// once per block instead of once per (block, token), the nibbles once per block, and 64-byte
// vectors halve the instruction count.
#include <cstdint>

namespace r1d::kernels::parity {

// y[t * y_stride + r] = dot(weight row r, activation row t) for r in [0, rows) and
// t in [0, n_tokens), where weight row r starts at w + r * w_row_bytes and activation row t
// (already converted to the weight's vec-dot type) at a + t * a_row_bytes; n elements per row.
using QuantGemmFn = void (*)(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows,
                             const void* a, int64_t a_row_bytes, int64_t n_tokens, float* y,
                             int64_t y_stride);

// The blocked product for a weight type (tensor::DType value) on this CPU, or nullptr where
// there is none (then the per-row dot products are used).
QuantGemmFn GetQuantGemm(int type);

namespace avx512 {
// AVX-512 F + BW, and VNNI for Q8_0 (quant_gemm_avx512.cc).
void GemmQ4_K(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* a,
              int64_t a_row_bytes, int64_t n_tokens, float* y, int64_t y_stride);
void GemmQ6_K(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* a,
              int64_t a_row_bytes, int64_t n_tokens, float* y, int64_t y_stride);
void GemmQ8_0(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* a,
              int64_t a_row_bytes, int64_t n_tokens, float* y, int64_t y_stride);
}  // namespace avx512

}  // namespace r1d::kernels::parity
