#pragma once
// SIMD versions of the llama.cpp-order kernels (bit-identical to the portable ones in
// cpu_reference_order.cc). Installed only when the CPU has AVX2 + FMA + F16C.
#include <cstdint>

namespace r1d::kernels::parity::avx2 {

// Quantized dots (quant_dot_avx2.cc).
float DotQ8_0(int64_t n, const void* w, const void* a);
float DotQ4_0(int64_t n, const void* w, const void* a);
float DotQ5_0(int64_t n, const void* w, const void* a);
float DotQ4_K(int64_t n, const void* w, const void* a);
float DotQ5_K(int64_t n, const void* w, const void* a);
float DotQ6_K(int64_t n, const void* w, const void* a);

// Float dots and elementwise kernels (float_ops_avx2.cc). The 16-lane AVX-512 accumulators of
// the emulated order are held as two 8-lane halves.
float VecDotF16(const uint16_t* x, const uint16_t* y, int64_t n);
float VecDotF32(const float* x, const float* y, int64_t n);
float TinyBlasDotF16(const uint16_t* x, const uint16_t* y, int64_t n);
float TinyBlasDotF32(const float* x, const float* y, int64_t n);
void FmaF16Row(float* acc, const uint16_t* v, float p, int64_t n);
// Vectors whose exp falls outside the normal range use the given scalar (portable) function.
void ExpRow(float* x, float sub, int64_t n, float (*scalar_exp)(float));
void SiluMulRow(const float* gate, const float* up, int64_t n, float* out,
                float (*scalar_silu)(float));
void QuantizeRowQ8_0(const float* src, void* dst, int64_t n);
float MaxRow(const float* x, int64_t n);
double ChunkSums16(const float* x, int64_t n);

}  // namespace r1d::kernels::parity::avx2
