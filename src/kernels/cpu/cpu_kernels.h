#pragma once
// SIMD kernels (x86). Signatures match kernels::TypeKernels; dispatch.cc installs them only when
// the CPU has the instruction set (and, for *Vnni / *Bf16 variants, the extension). Each result
// equals the scalar reference in kernels/ref/ up to float summation order (dot products) or
// exactly (quantize / dequantize); tests/kernels/ checks that on every ISA the machine has.
//
// Only this header's plain declarations are shared: the SIMD translation units keep their
// helpers in anonymous namespaces and avoid inline functions from other headers, so no
// AVX-512 copy of a shared inline function can be picked by the linker for scalar code.
#include <cstdint>

namespace r1d::kernels {

#define R1D_DECLARE_VEC_DOT(Name) float VecDot##Name(int64_t n, const void* w, const void* a)
#define R1D_DECLARE_QUANTIZE(Name) void QuantizeRow##Name(const float* src, void* dst, int64_t n)
#define R1D_DECLARE_DEQUANTIZE(Name) \
  void DequantizeRow##Name(const void* src, float* dst, int64_t n)

namespace avx2 {  // AVX2 + FMA + F16C
R1D_DECLARE_VEC_DOT(F32);
R1D_DECLARE_VEC_DOT(F16);
R1D_DECLARE_VEC_DOT(BF16);
R1D_DECLARE_VEC_DOT(Q4_0);
R1D_DECLARE_VEC_DOT(Q4_1);
R1D_DECLARE_VEC_DOT(Q5_0);
R1D_DECLARE_VEC_DOT(Q5_1);
R1D_DECLARE_VEC_DOT(Q8_0);
R1D_DECLARE_VEC_DOT(Q4_K);
R1D_DECLARE_VEC_DOT(Q5_K);
R1D_DECLARE_VEC_DOT(Q6_K);
R1D_DECLARE_QUANTIZE(F16);
R1D_DECLARE_QUANTIZE(BF16);
R1D_DECLARE_QUANTIZE(Q8_0);
R1D_DECLARE_QUANTIZE(Q8_1);
R1D_DECLARE_QUANTIZE(Q8_K);
R1D_DECLARE_DEQUANTIZE(F16);
R1D_DECLARE_DEQUANTIZE(BF16);
R1D_DECLARE_DEQUANTIZE(Q8_0);
}  // namespace avx2

namespace avx512 {  // AVX-512 F + BW + VL + DQ (on top of AVX2)
R1D_DECLARE_VEC_DOT(F32);
R1D_DECLARE_VEC_DOT(F16);
R1D_DECLARE_VEC_DOT(BF16);
R1D_DECLARE_VEC_DOT(BF16Bf16);  // needs AVX512_BF16 (vdpbf16ps)
R1D_DECLARE_VEC_DOT(Q4_0);
R1D_DECLARE_VEC_DOT(Q4_0Vnni);  // needs AVX512_VNNI (vpdpbusd)
R1D_DECLARE_VEC_DOT(Q8_0);
R1D_DECLARE_VEC_DOT(Q8_0Vnni);
R1D_DECLARE_VEC_DOT(Q4_K);
R1D_DECLARE_VEC_DOT(Q5_K);
R1D_DECLARE_VEC_DOT(Q6_K);
R1D_DECLARE_QUANTIZE(F16);
R1D_DECLARE_QUANTIZE(BF16);
R1D_DECLARE_QUANTIZE(Q8_0);
R1D_DECLARE_DEQUANTIZE(F16);
R1D_DECLARE_DEQUANTIZE(BF16);
R1D_DECLARE_DEQUANTIZE(Q8_0);
R1D_DECLARE_DEQUANTIZE(Q4_K);  // k_dequant_avx512.cc
R1D_DECLARE_DEQUANTIZE(Q6_K);
R1D_DECLARE_DEQUANTIZE(Q8_K);
// float_rows_avx512.cc
void ScaleF32(float a, const float* x, float* y, int64_t n);
void AxpyF32(float a, const float* x, float* y, int64_t n);
void AxpyRowsF32(const float* a, const float* rows, int64_t stride, int64_t n_rows, float* y,
                 int64_t n);
double DotF32InDouble(const float* x, const float* y, int64_t n);
void DotRowsF32InDouble(const float* rows, int64_t stride, int64_t n_rows, const float* x,
                        int64_t n, double* out);
float DotF32Lanes8(const float* x, const float* y, int64_t n);
// attention_tiny_avx512.cc (see kernels/attention_tiny.h)
void TinyAttentionDots(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs,
                       const int64_t* valid, int nv, int64_t len, float scale, float* const* out);
// attention_vec_dot_avx512.cc (see kernels/attention_vec_dot.h)
// `scratch` holds nv * round_up(len, 16) floats (VecDotRowsF16) or nv * n_kv
// (WeightedSumsF16VecDot): the caller owns it, so this file instantiates no library template.
void VecDotRowsF16(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs, int nv,
                   int64_t len, float scale, float* const* out, float* scratch);
void WeightedSumsF16VecDot(const uint16_t* const* p16, int nv, int64_t n_kv, int64_t n_kv_pad,
                           const uint16_t* const* v_rows, int64_t dv, float* acc, float* const* out,
                           float* scratch);
}  // namespace avx512

#undef R1D_DECLARE_VEC_DOT
#undef R1D_DECLARE_QUANTIZE
#undef R1D_DECLARE_DEQUANTIZE

}  // namespace r1d::kernels
