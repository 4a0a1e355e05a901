// AVX2 + FMA + F16C versions of the llama.cpp-order quantized dot products (see
// ggml_cpu_order.h). They compute the same integer lane sums and the same single-accumulator
// FMA chain as the portable emulation, so the results are bit-identical; only faster.
// Intrinsics only: no inline functions shared with scalar translation units.
#include <immintrin.h>

#include <cstdint>

#include "kernels/parity/quant_dot_x86.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::parity::avx2 {
namespace {

// The pairwise lane sum of the x86 kernels: high half + low half, then (0+2) + (1+3).
float HsumLanes(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// 8 int32 lanes; lane l = sum of x[e] * y[e] for e in [4l, 4l + 4). Exact for quants in
// [-127, 127] (no 16-bit saturation).
__m256i LaneSums(__m256i x, __m256i y) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

__m256i Load(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

}  // namespace

float DotQ8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ8_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = _cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d);
    const __m256i s = LaneSums(Load(x[b].qs), Load(y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(s), acc);
  }
  return HsumLanes(acc);
}

float DotQ4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ4_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  const __m256i low = _mm256_set1_epi8(0xF);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = _cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs));
    // Bytes 0-15: low nibbles (elements 0-15); bytes 16-31: high nibbles (16-31).
    const __m256i both =
        _mm256_insertf128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1);
    const __m256i q = _mm256_sub_epi8(_mm256_and_si256(both, low), _mm256_set1_epi8(8));
    const __m256i s = LaneSums(q, Load(y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(s), acc);
  }
  return HsumLanes(acc);
}

}  // namespace r1d::kernels::parity::avx2
