// AVX-512 kernels of the plain float types. Dot products keep four 16-lane accumulators and
// finish with a masked load instead of a scalar tail. BF16 has a second dot product using
// vdpbf16ps (AVX512_BF16) in llama.cpp's order for such CPUs, installed only when the CPU has it.
#include <cstring>

#include "kernels/cpu/avx512_helpers_inl.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"

namespace r1d::kernels::avx512 {
namespace {

__mmask16 TailMask16(int64_t left) { return static_cast<__mmask16>((1u << left) - 1); }

__m512 LoadF32(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
__m512 LoadF16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
__m512 LoadBf16(const uint16_t* p, __mmask16 m) {
  const __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}

// Load(p, mask) converts up to 16 elements at p to floats (masked-off lanes are 0).
template <class T, __m512 (*Load)(const T*, __mmask16)>
float DotLoop(int64_t n, const T* x, const T* y) {
  constexpr __mmask16 kAll = 0xFFFF;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(Load(x + i, kAll), Load(y + i, kAll), acc0);
    acc1 = _mm512_fmadd_ps(Load(x + i + 16, kAll), Load(y + i + 16, kAll), acc1);
    acc2 = _mm512_fmadd_ps(Load(x + i + 32, kAll), Load(y + i + 32, kAll), acc2);
    acc3 = _mm512_fmadd_ps(Load(x + i + 48, kAll), Load(y + i + 48, kAll), acc3);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(Load(x + i, kAll), Load(y + i, kAll), acc0);
  if (i < n) {
    const __mmask16 m = TailMask16(n - i);
    acc1 = _mm512_fmadd_ps(Load(x + i, m), Load(y + i, m), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// 16 fp32 -> 16 bf16 with the reference rounding (vcvtneps2bf16 would flush denormals).
__m256i FloatToBf16x16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), odd)), 16);
  const __m512i quiet_nan = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(64));
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(
      _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(is_nan, rounded, quiet_nan));
}

}  // namespace

float VecDotF32(int64_t n, const void* w, const void* a) {
  return DotLoop<float, LoadF32>(n, static_cast<const float*>(w), static_cast<const float*>(a));
}

float VecDotF16(int64_t n, const void* w, const void* a) {
  return DotLoop<uint16_t, LoadF16>(n, static_cast<const uint16_t*>(w),
                                    static_cast<const uint16_t*>(a));
}

float VecDotBF16(int64_t n, const void* w, const void* a) {
  return DotLoop<uint16_t, LoadBf16>(n, static_cast<const uint16_t*>(w),
                                     static_cast<const uint16_t*>(a));
}

// vdpbf16ps: 32 bf16 pairs per instruction, products summed pairwise into fp32 lanes. The
// order of ggml_vec_dot_bf16 built for AVX512_BF16 (parity::VecDotBF16Dp): two accumulators
// over 64-element steps, each tree-summed into a double, then the rest one by one in double.
float VecDotBF16Bf16(int64_t n, const void* w, const void* a) {
  return DotBf16VecOrder(static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a), n);
}

void QuantizeRowF16(const float* src, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : TailMask16(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_mask_storeu_epi16(d + i, m, h);
  }
}

void DequantizeRowF16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : TailMask16(n - i);
    _mm512_mask_storeu_ps(dst + i, m, LoadF16(s + i, m));
  }
}

void QuantizeRowBF16(const float* src, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : TailMask16(n - i);
    _mm256_mask_storeu_epi16(d + i, m, FloatToBf16x16(_mm512_maskz_loadu_ps(m, src + i)));
  }
}

void DequantizeRowBF16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : TailMask16(n - i);
    _mm512_mask_storeu_ps(dst + i, m, LoadBf16(s + i, m));
  }
}

}  // namespace r1d::kernels::avx512
