#pragma once
// Small AVX-512 helpers shared by the *_avx512.cc translation units only (internal linkage, as
// in x86_helpers_inl.h: each TU keeps its own copy compiled with its own flags).
#include <immintrin.h>

#include <cstdint>

#include "core/fp16.h"

namespace r1d::kernels::avx512 {
namespace {

// 16 F16 values as F32 (exact).
[[gnu::always_inline]] inline __m512 LoadF16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// parity::Hsum16 of one register: t[i] = v[i + 8] + v[i], r[i] = t[i + 4] + t[i], then
// (r0 + r2) + (r1 + r3).
inline float Hsum16(__m512 v) {
  const __m256 t = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(t, 1), _mm256_castps256_ps128(t));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// ggml_vec_dot_bf16 built for AVX512_BF16 (parity::VecDotBF16Dp): two vdpbf16ps accumulators
// over 64-element steps, each tree-summed into a double, then the rest one by one in double.
// The translation unit needs AVX512_BF16.
inline float DotBf16VecOrder(const uint16_t* x, const uint16_t* y, int64_t n) {
  auto load = [](const uint16_t* p) { return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p)); };
  __m512 c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    c1 = _mm512_dpbf16_ps(c1, load(x + i), load(y + i));
    c2 = _mm512_dpbf16_ps(c2, load(x + i + 32), load(y + i + 32));
  }
  double sum = static_cast<double>(Hsum16(c1));
  sum += static_cast<double>(Hsum16(c2));
  for (; i < n; ++i) sum += static_cast<double>(Bf16ToFp32(x[i]) * Bf16ToFp32(y[i]));
  return static_cast<float>(sum);
}

}  // namespace
}  // namespace r1d::kernels::avx512
