// AVX-512 dequantization of Q4_K, Q6_K and Q8_K rows, bit-identical to the reference
// (ref/k_quant_ref.cc): the same float products in the same order, 16 elements at a time.
// Hot where rows are used as floats every token: the absorbed MLA decode of deepseek2 reads
// attn_kv_b this way, and its cached latents (Q8_K for k-quant models) at every position.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own set1 intrinsics as uninitialized
// (a false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Products and sums rounded separately, as in the reference loops: GCC would otherwise fuse
// the intrinsics' multiply and add (they are plain vector arithmetic to it).
#pragma GCC optimize("fp-contract=off")

#include "core/fp16.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::avx512 {
namespace {

using tensor::BlockQ4_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;
using tensor::kQK_K;

// 16 unsigned bytes as floats.
__m512 BytesToFloat(__m128i bytes) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)); }

// The 32 bytes of `v` as two groups of 16 floats: scale * q - sub (Q4_K's order).
void Store32(__m256i v, float scale, float sub, float* dst) {
  const __m512 s = _mm512_set1_ps(scale), m = _mm512_set1_ps(sub);
  const __m512 lo = BytesToFloat(_mm256_castsi256_si128(v));
  const __m512 hi = BytesToFloat(_mm256_extracti128_si256(v, 1));
  _mm512_storeu_ps(dst, _mm512_sub_ps(_mm512_mul_ps(s, lo), m));
  _mm512_storeu_ps(dst + 16, _mm512_sub_ps(_mm512_mul_ps(s, hi), m));
}

}  // namespace

void DequantizeRowQ4_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(src);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(x[i].d), dmin = Fp16ToFp32(x[i].dmin);
    uint8_t sc[8], mn[8];
    UnpackScalesMinsK4(x[i].scales, sc, mn);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * c));
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      // As the reference: (d * scale) * q - dmin * min.
      Store32(lo, d * static_cast<float>(sc[2 * c]), dmin * static_cast<float>(mn[2 * c]),
              dst + 64 * c);
      Store32(hi, d * static_cast<float>(sc[2 * c + 1]), dmin * static_cast<float>(mn[2 * c + 1]),
              dst + 64 * c + 32);
    }
  }
}

void DequantizeRowQ6_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(x[i].d);
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      UnpackQ6KHalf(x[i].ql + 64 * h, x[i].qh + 32 * h, q);
      for (int k = 0; k < 4; ++k) {
        const int e = 128 * h + 32 * k;  // first element; sub-blocks e / 16 and e / 16 + 1
        const float s0 = d * static_cast<float>(x[i].scales[e / 16]);
        const float s1 = d * static_cast<float>(x[i].scales[e / 16 + 1]);
        const __m512 lo =
            _mm512_sub_ps(BytesToFloat(_mm256_castsi256_si128(q[k])), _mm512_set1_ps(32.0f));
        const __m512 hi =
            _mm512_sub_ps(BytesToFloat(_mm256_extracti128_si256(q[k], 1)), _mm512_set1_ps(32.0f));
        _mm512_storeu_ps(dst + e, _mm512_mul_ps(_mm512_set1_ps(s0), lo));
        _mm512_storeu_ps(dst + e + 16, _mm512_mul_ps(_mm512_set1_ps(s1), hi));
      }
    }
  }
}

void DequantizeRowQ8_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const __m512 d = _mm512_set1_ps(x[i].d);
    for (int e = 0; e < kQK_K; e += 16) {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs + e));
      _mm512_storeu_ps(dst + e, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
    }
  }
}

}  // namespace r1d::kernels::avx512
