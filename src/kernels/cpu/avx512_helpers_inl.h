#pragma once
// Small AVX-512 helpers shared by the *_avx512.cc translation units only (internal linkage, as
// in x86_helpers_inl.h: each TU keeps its own copy compiled with its own flags).
#include <immintrin.h>

#include <cstdint>

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

}  // namespace
}  // namespace r1d::kernels::avx512
