// AVX-512 kernels of Q8_0 and Q4_0: two 32-element blocks per 512-bit register. With
// AVX512_VNNI, vpdpbusd replaces the maddubs + madd pair; the dispatcher picks the variant.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::avx512 {
namespace {

using tensor::BlockQ4_0;
using tensor::BlockQ8_0;
constexpr int kQK = 32;

// Signed x signed byte products, summed per 4 adjacent bytes into 16 int32 lanes (lanes 0-7
// belong to the first 32 bytes = first block). x's sign moves onto y, |x| <= 128 is unsigned.
template <bool kVnni>
__m512i DotI8x64(__m512i x, __m512i y) {
  const __m512i ax = _mm512_abs_epi8(x);
  const __m512i sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
  if constexpr (kVnni) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), ax, sy);
  } else {
    return _mm512_madd_epi16(_mm512_maddubs_epi16(ax, sy), _mm512_set1_epi16(1));
  }
}

__m512i Join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

__m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

__m512 Scales2(float d0, float d1) {
  return _mm512_insertf32x8(_mm512_set1_ps(d0), _mm256_set1_ps(d1), 1);
}

float Scale(uint16_t dx, uint16_t dy) { return HalfToFloat(dx) * HalfToFloat(dy); }

// Quants of two Q4_0 blocks minus 8, in element order: [block0 (32) | block1 (32)].
__m512i Q4_0Pair(const BlockQ4_0& b0, const BlockQ4_0& b1) {
  const __m256i t = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1.qs)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0.qs)));
  // 128-bit lanes [lo0, lo1, hi0, hi1] -> [lo0, hi0, lo1, hi1].
  __m512i v = Join(t, _mm256_srli_epi16(t, 4));
  v = _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
  v = _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
  return _mm512_sub_epi8(v, _mm512_set1_epi8(8));
}

// PairDot(i) returns the int32 lanes of blocks i and i+1; odd counts end with a pair whose
// second block is all zero with scale 0.
template <bool kVnni>
float DotQ8_0(int64_t n, const BlockQ8_0* x, const BlockQ8_0* y) {
  const int64_t nb = n / kQK;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  auto pair = [&](int64_t i, __m512 acc) {
    const __m512i p = DotI8x64<kVnni>(Join(Load32(x[i].qs), Load32(x[i + 1].qs)),
                                      Join(Load32(y[i].qs), Load32(y[i + 1].qs)));
    return _mm512_fmadd_ps(Scales2(Scale(x[i].d, y[i].d), Scale(x[i + 1].d, y[i + 1].d)),
                           _mm512_cvtepi32_ps(p), acc);
  };
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    acc0 = pair(i, acc0);
    acc1 = pair(i + 2, acc1);
  }
  for (; i + 2 <= nb; i += 2) acc0 = pair(i, acc0);
  if (i < nb) {
    const __m512i p = DotI8x64<kVnni>(_mm512_zextsi256_si512(Load32(x[i].qs)),
                                      _mm512_zextsi256_si512(Load32(y[i].qs)));
    acc1 = _mm512_fmadd_ps(Scales2(Scale(x[i].d, y[i].d), 0.0f), _mm512_cvtepi32_ps(p), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

template <bool kVnni>
float DotQ4_0(int64_t n, const BlockQ4_0* x, const BlockQ8_0* y) {
  const int64_t nb = n / kQK;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  auto pair = [&](int64_t i, __m512 acc) {
    const __m512i p =
        DotI8x64<kVnni>(Q4_0Pair(x[i], x[i + 1]), Join(Load32(y[i].qs), Load32(y[i + 1].qs)));
    return _mm512_fmadd_ps(Scales2(Scale(x[i].d, y[i].d), Scale(x[i + 1].d, y[i + 1].d)),
                           _mm512_cvtepi32_ps(p), acc);
  };
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    acc0 = pair(i, acc0);
    acc1 = pair(i + 2, acc1);
  }
  for (; i + 2 <= nb; i += 2) acc0 = pair(i, acc0);
  if (i < nb) {
    // Pair the last block with itself and give the copy scale 0.
    const __m512i p = DotI8x64<kVnni>(Q4_0Pair(x[i], x[i]), Join(Load32(y[i].qs), Load32(y[i].qs)));
    acc1 = _mm512_fmadd_ps(Scales2(Scale(x[i].d, y[i].d), 0.0f), _mm512_cvtepi32_ps(p), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// Rounds half away from zero, like roundf.
__m512 RoundHalfAway512(__m512 v) {
  const __m512 a = _mm512_abs_ps(v);
  const __m512 t = _mm512_roundscale_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(_mm512_sub_ps(a, t), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 r = _mm512_mask_add_ps(t, up, t, _mm512_set1_ps(1.0f));
  return _mm512_or_ps(r, _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
}

}  // namespace

float VecDotQ8_0(int64_t n, const void* w, const void* a) {
  return DotQ8_0<false>(n, static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(a));
}
float VecDotQ8_0Vnni(int64_t n, const void* w, const void* a) {
  return DotQ8_0<true>(n, static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(a));
}
float VecDotQ4_0(int64_t n, const void* w, const void* a) {
  return DotQ4_0<false>(n, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(a));
}
float VecDotQ4_0Vnni(int64_t n, const void* w, const void* a) {
  return DotQ4_0<true>(n, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(a));
}

// Bit-identical to the reference: d = amax / 127, q = roundf(x * (1 / d)).
void QuantizeRowQ8_0(const float* src, void* dst, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m512 v0 = _mm512_loadu_ps(src + i * kQK);
    const __m512 v1 = _mm512_loadu_ps(src + i * kQK + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f;
    const __m512 id = _mm512_set1_ps(d != 0 ? 1.0f / d : 0.0f);
    const __m512i q0 = _mm512_cvttps_epi32(RoundHalfAway512(_mm512_mul_ps(v0, id)));
    const __m512i q1 = _mm512_cvttps_epi32(RoundHalfAway512(_mm512_mul_ps(v1, id)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16), _mm512_cvtepi32_epi8(q1));
    y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  }
}

void DequantizeRowQ8_0(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m512 d = _mm512_set1_ps(HalfToFloat(x[i].d));
    for (int j = 0; j < kQK; j += 16) {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs + j));
      _mm512_storeu_ps(dst + i * kQK + j,
                       _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d));
    }
  }
}

}  // namespace r1d::kernels::avx512
