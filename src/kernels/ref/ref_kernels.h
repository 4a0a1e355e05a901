#pragma once
// Scalar reference kernels for every type: the truth the SIMD versions are tested against.
// Signatures match kernels::TypeKernels. Numerics follow llama.cpp's CPU reference code:
// activation quantizers (Q8_0, Q8_1, Q8_K, F16, BF16) round exactly as ggml's *_ref functions;
// dot products multiply exact integer block sums by the block scales.
#include <cstdint>

namespace r1d::kernels::ref {

#define R1D_DECLARE_REF_KERNELS(Name)                               \
  void DequantizeRow##Name(const void* src, float* dst, int64_t n); \
  void QuantizeRow##Name(const float* src, void* dst, int64_t n);   \
  float VecDot##Name(int64_t n, const void* w, const void* a)

// Plain types; the activations have the weight's own type.
R1D_DECLARE_REF_KERNELS(F32);
R1D_DECLARE_REF_KERNELS(F16);
R1D_DECLARE_REF_KERNELS(BF16);
// 32-element blocks. Q4_0/Q5_0/Q8_0 dot with Q8_0, Q4_1/Q5_1 with Q8_1, Q8_1 with Q8_1.
R1D_DECLARE_REF_KERNELS(Q4_0);
R1D_DECLARE_REF_KERNELS(Q4_1);
R1D_DECLARE_REF_KERNELS(Q5_0);
R1D_DECLARE_REF_KERNELS(Q5_1);
R1D_DECLARE_REF_KERNELS(Q8_0);
R1D_DECLARE_REF_KERNELS(Q8_1);
// 256-element super-blocks; all dot with Q8_K (Q8_K with itself).
R1D_DECLARE_REF_KERNELS(Q4_K);
R1D_DECLARE_REF_KERNELS(Q5_K);
R1D_DECLARE_REF_KERNELS(Q6_K);
R1D_DECLARE_REF_KERNELS(Q8_K);

#undef R1D_DECLARE_REF_KERNELS

// Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K `scales[12]` field.
void UnpackScaleMinK4(const uint8_t* scales, int j, uint8_t* scale, uint8_t* min);
// Inverse of UnpackScaleMinK4 for all 8 sub-blocks (values must be < 64).
void PackScaleMinK4(const uint8_t* scales8, const uint8_t* mins8, uint8_t* out12);
// ggml's nearest_int: round to nearest, ties to even (|x| < 2^22).
int NearestInt(float x);

}  // namespace r1d::kernels::ref
