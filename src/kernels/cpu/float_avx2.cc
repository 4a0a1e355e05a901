// AVX2 kernels of the plain float types: dot products with four independent accumulators
// (32 elements per iteration) and the F16/BF16 conversions.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"

namespace r1d::kernels::avx2 {
namespace {

float F32At(const float* p) { return *p; }

// One generic loop for the three types: Load8 converts 8 elements at p + i to floats.
template <class T, __m256 (*Load8)(const T*), float (*Load1)(const T*)>
float DotLoop(int64_t n, const T* x, const T* y) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(Load8(x + i), Load8(y + i), acc0);
    acc1 = _mm256_fmadd_ps(Load8(x + i + 8), Load8(y + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(Load8(x + i + 16), Load8(y + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(Load8(x + i + 24), Load8(y + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load8(x + i), Load8(y + i), acc0);
  float sum = HsumPs(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += Load1(x + i) * Load1(y + i);
  return sum;
}

__m256 LoadF32(const float* p) { return _mm256_loadu_ps(p); }
float LoadF16One(const uint16_t* p) { return HalfToFloat(*p); }
float LoadBf16One(const uint16_t* p) {
  const uint32_t u = static_cast<uint32_t>(*p) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

}  // namespace

float VecDotF32(int64_t n, const void* w, const void* a) {
  return DotLoop<float, LoadF32, F32At>(n, static_cast<const float*>(w),
                                        static_cast<const float*>(a));
}

float VecDotF16(int64_t n, const void* w, const void* a) {
  return DotLoop<uint16_t, Fp16x8ToFloat, LoadF16One>(n, static_cast<const uint16_t*>(w),
                                                      static_cast<const uint16_t*>(a));
}

float VecDotBF16(int64_t n, const void* w, const void* a) {
  return DotLoop<uint16_t, Bf16x8ToFloat, LoadBf16One>(n, static_cast<const uint16_t*>(w),
                                                       static_cast<const uint16_t*>(a));
}

void QuantizeRowF16(const float* src, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), h);
  }
  for (; i < n; ++i) d[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

void DequantizeRowF16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, Fp16x8ToFloat(s + i));
  for (; i < n; ++i) dst[i] = HalfToFloat(s[i]);
}

void QuantizeRowBF16(const float* src, void* dst, int64_t n) {
  uint16_t* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), FloatToBf16x8(_mm256_loadu_ps(src + i)));
  }
  if (i < n) {
    float tail[8] = {};
    uint16_t out[8];
    std::memcpy(tail, src + i, static_cast<size_t>(n - i) * sizeof(float));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), FloatToBf16x8(_mm256_loadu_ps(tail)));
    std::memcpy(d + i, out, static_cast<size_t>(n - i) * sizeof(uint16_t));
  }
}

void DequantizeRowBF16(const void* src, float* dst, int64_t n) {
  const uint16_t* s = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, Bf16x8ToFloat(s + i));
  for (; i < n; ++i) dst[i] = LoadBf16One(s + i);
}

}  // namespace r1d::kernels::avx2
