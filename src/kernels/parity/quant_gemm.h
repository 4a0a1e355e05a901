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

// The product for one weight type, in two steps: each activation row (already converted to the
// weight's vec-dot type) is first rearranged once into a layout the product reads directly
// (`prepare_row`, prepared_row_bytes(n) bytes, a multiple of 64; rows 64-byte aligned), then
// `run` computes y[t * y_stride + r] = dot(weight row r, activation row t) for r in [0, rows)
// and t in [0, n_tokens), weight row r at w + r * w_row_bytes, n elements per row. `run` may
// be called concurrently on disjoint rows with the same prepared activations.
struct QuantGemm {
  int64_t (*prepared_row_bytes)(int64_t n);
  void (*prepare_row)(int64_t n, const void* a, void* prepared);
  void (*run)(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
              int64_t n_tokens, float* y, int64_t y_stride);
};

// The blocked product for a weight type (tensor::DType value) on this CPU, or nullptr where
// there is none (then the per-row dot products are used).
const QuantGemm* GetQuantGemm(int type);

namespace avx512 {
// AVX-512 F + BW, and VNNI for Q8_0 / Q5_0 / Q4_0 (quant_gemm_avx512.cc).
extern const QuantGemm kGemmQ4_K;
extern const QuantGemm kGemmQ5_K;
extern const QuantGemm kGemmQ6_K;
extern const QuantGemm kGemmQ8_0;
extern const QuantGemm kGemmQ5_0;
extern const QuantGemm kGemmQ4_0;
}  // namespace avx512

}  // namespace r1d::kernels::parity
