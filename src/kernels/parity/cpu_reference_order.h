#pragma once
// Arithmetic in the exact order of llama.cpp's x86 CPU backend (AVX-512 build, early 2025), so
// that our results are bit-identical to the reference rather than merely close. On models with
// quantized weights every activation is re-quantized before each matrix product; a single
// different rounding there changes a quant by one step and the difference grows layer after
// layer, so "close" is not enough to reproduce the reference's probabilities.
//
// The reference is portable scalar code that emulates the SIMD lanes one by one (fused
// multiply-adds via std::fma), so it gives the same bits on any CPU. Where the CPU has
// AVX2 + FMA + F16C the functions below run SIMD versions that give exactly the same bits
// (tests compare them with the portable ones on random data).
#include <cstdint>

namespace r1d::kernels::parity {

// ---- Activation quantizers ----
// Q8_0 as the x86 SIMD quantizer: scale d = amax / 127, multiplier 127 / amax (not 1 / d),
// round half to even.
void QuantizeRowQ8_0(const float* src, void* dst, int64_t n);

// ---- Quantized dot products (weights . activations) ----
// The x86 kernels keep 8 float lanes; lane l receives, per block, the exact integer sum of the
// products whose index within their 32-group is in [4l, 4l + 4), times the block's scale, with
// one fused multiply-add; the lanes are summed pairwise at the end.
using VecDotFn = float (*)(int64_t n, const void* w, const void* a);
// The emulated dot product for a weight type (tensor::DType value), or nullptr.
VecDotFn GetVecDot(int type);
// The portable emulation only (tests compare it with the SIMD versions).
VecDotFn GetPortableVecDot(int type);

// ---- Float dot products ----
// ggml_vec_dot_f16 / _f32 (AVX-512): 4 accumulators of 16 lanes over steps of 64 elements,
// folded 0+2, 1+3, then 0+1, then a 16-lane tree sum; the rest (n % 64) added one by one in
// double (F16) or float (F32).
float VecDotF16(const uint16_t* x, const uint16_t* y, int64_t n);
float VecDotF32(const float* x, const float* y, int64_t n);
// tinyBLAS (llamafile sgemm, AVX-512): one 16-lane accumulator, a fused multiply-add per 16
// elements, then a 16-lane tree sum. Used for batches of 2+ tokens. n % 16 == 0.
float TinyBlasDotF16(const uint16_t* x, const uint16_t* y, int64_t n);
float TinyBlasDotF32(const float* x, const float* y, int64_t n);

// BF16 as llama.cpp built for AVX512_BF16 computes it (the ggml and tinyBLAS paths that use
// vdpbf16ps): lane j of a 16-lane accumulator takes, per 32-element step, the products of
// elements 2j + 1 and then 2j, each added with its own rounding (a product of two bf16 values
// is exact in fp32), bf16 subnormals read as zero. Emulated here for finite values whose
// products and sums stay in the normal fp32 range; the instruction's own handling of overflow
// and of results below that range (flushed) is not modelled.
// ggml_vec_dot_bf16: 2 accumulators over steps of 64 elements, each tree-summed and added in
// double, then the rest (n % 64) one by one in double.
float VecDotBF16Dp(const uint16_t* x, const uint16_t* y, int64_t n);
// tinyBLAS: one accumulator over steps of 32 elements, then a 16-lane tree sum. n % 32 == 0.
float TinyBlasDotBF16Dp(const uint16_t* x, const uint16_t* y, int64_t n);

// Pairwise sum of 8 / 16 lanes as the x86 horizontal adds do it.
float Hsum8(const float* v);
float Hsum16(const float* v);

// ---- Row kernels (attention and the feed-forward block) ----
// acc[i] = fma(f16(v[i]), p, acc[i]): one cache cell's step of attention's V product.
void FmaF16Row(float* acc, const uint16_t* v, float p, int64_t n);
// x[i] = VExpf(x[i] - sub).
void ExpRow(float* x, float sub, int64_t n);
// out[i] = VSilu(gate[i]) * up[i].
void SiluMulRow(const float* gate, const float* up, int64_t n, float* out);

// One implementation of the float kernels above: the portable emulation or a SIMD version.
struct FloatKernels {
  float (*vec_dot_f16)(const uint16_t* x, const uint16_t* y, int64_t n);
  float (*vec_dot_f32)(const float* x, const float* y, int64_t n);
  float (*tiny_blas_dot_f16)(const uint16_t* x, const uint16_t* y, int64_t n);
  float (*tiny_blas_dot_f32)(const float* x, const float* y, int64_t n);
  void (*fma_f16_row)(float* acc, const uint16_t* v, float p, int64_t n);
  void (*exp_row)(float* x, float sub, int64_t n);
  void (*silu_mul_row)(const float* gate, const float* up, int64_t n, float* out);
  void (*quantize_row_q8_0)(const float* src, void* dst, int64_t n);
  // The softmax's reductions: the running maximum of a loop `max = max < x ? x : max` from
  // -inf (a NaN never enters; only the sign of a zero maximum may differ, which no score minus
  // it can tell), and the sum in double of the Hsum16 of each 16-element chunk (the last one
  // zero-padded).
  float (*max_row)(const float* x, int64_t n);
  double (*chunk_sums16)(const float* x, int64_t n);
};
// The portable reference (tests) and the fastest one this CPU runs (what the functions above
// call; hot loops may fetch it once).
const FloatKernels& PortableFloatKernels();
const FloatKernels& FastFloatKernels();

// ---- Elementwise ----
// ggml_v_expf: the vectorized exp approximation used for softmax and SiLU (not libm's expf).
float VExpf(float x);
// ggml_v_silu: x / (1 + VExpf(-x)).
float VSilu(float x);

}  // namespace r1d::kernels::parity
