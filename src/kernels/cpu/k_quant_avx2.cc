// AVX2 kernels of the k-quants against Q8_K activations, and the Q8_K quantizer. Per
// super-block all integer work is exact (maddubs of unsigned quants with int8 activations,
// madd with the sub-block scales); one FMA per super-block applies d * d_y.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::avx2 {
namespace {

using tensor::BlockQ4_K;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;
using tensor::kQK_K;

__m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// sum_j mins[j] * (bsums[2j] + bsums[2j+1]) as 4 int32.
__m128i MinsTimesBsums(const uint8_t* mins8, const int16_t* bsums) {
  const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums));
  const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8));
  const __m128i pair_sums = _mm_hadd_epi16(b0, b1);
  const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mins8)));
  return _mm_madd_epi16(mins, pair_sums);
}

// Shared by Q4_K and Q5_K: Quants(c, &lo, &hi) yields the unsigned quants of elements
// 64c..64c+31 (sub-block 2c) and 64c+32..64c+63 (sub-block 2c+1).
template <class Block, class QuantsFn>
float DotKAsym(int64_t n, const void* w, const void* a, QuantsFn quants) {
  const Block* x = static_cast<const Block*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint8_t scales[8], mins[8];
    UnpackScalesMinsK4(x[i].scales, scales, mins);
    const float d = HalfToFloat(x[i].d) * y[i].d;
    const float dmin = HalfToFloat(x[i].dmin) * y[i].d;
    acc_m =
        _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(MinsTimesBsums(mins, y[i].bsums)), acc_m);
    __m256i sumi0 = _mm256_setzero_si256(), sumi1 = _mm256_setzero_si256();
    for (int c = 0; c < kQK_K / 64; ++c) {
      __m256i lo, hi;
      quants(x[i], c, &lo, &hi);
      const __m256i p0 = _mm256_maddubs_epi16(lo, Load32(y[i].qs + 64 * c));
      const __m256i p1 = _mm256_maddubs_epi16(hi, Load32(y[i].qs + 64 * c + 32));
      sumi0 = _mm256_add_epi32(sumi0, _mm256_madd_epi16(p0, _mm256_set1_epi16(scales[2 * c])));
      sumi1 = _mm256_add_epi32(sumi1, _mm256_madd_epi16(p1, _mm256_set1_epi16(scales[2 * c + 1])));
    }
    acc =
        _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_add_epi32(sumi0, sumi1)), acc);
  }
  return HsumPs(acc) - HsumPs128(acc_m);
}

}  // namespace

float VecDotQ4_K(int64_t n, const void* w, const void* a) {
  return DotKAsym<BlockQ4_K>(n, w, a, [](const BlockQ4_K& b, int c, __m256i* lo, __m256i* hi) {
    const __m256i q = Load32(b.qs + 32 * c);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    *lo = _mm256_and_si256(q, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
  });
}

float VecDotQ5_K(int64_t n, const void* w, const void* a) {
  return DotKAsym<BlockQ5_K>(n, w, a, [](const BlockQ5_K& b, int c, __m256i* lo, __m256i* hi) {
    const __m256i q = Load32(b.qs + 32 * c);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    // Element 32s + l takes bit s of qh[l].
    const __m128i shift = _mm_cvtsi32_si128(2 * c);
    const __m256i h = _mm256_srl_epi16(Load32(b.qh), shift);
    const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(h, one), 4);
    const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4);
    *lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
  });
}

float VecDotQ6_K(int64_t n, const void* w, const void* a) {
  const BlockQ6_K* x = static_cast<const BlockQ6_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = x[i].scales;
    // The quants are stored +32: subtract 32 * sum_s scale_s * bsums_s once per super-block.
    const __m256i scales16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const __m256i offset = _mm256_madd_epi16(scales16, Load32(y[i].bsums));
    __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
    for (int h = 0; h < 2; ++h) {
      __m256i q[4];
      UnpackQ6KHalf(x[i].ql + 64 * h, x[i].qh + 32 * h, q);
      for (int g = 0; g < 4; ++g) {
        const int s = 8 * h + 2 * g;  // scales of elements 0-15 and 16-31 of this group
        const __m256i p = _mm256_maddubs_epi16(q[g], Load32(y[i].qs + 128 * h + 32 * g));
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[s + 1]), _mm_set1_epi16(sc[s]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale));
      }
    }
    const float d = HalfToFloat(x[i].d) * y[i].d;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return HsumPs(acc);
}

// Bit-identical to the reference (ggml's quantize_row_q8_K_ref): max by magnitude, first one on
// ties; iscale = -127 / max; cvtps rounds ties to even (the default MXCSR mode) like
// nearest_int; upper clamp 127; bsums of 16.
void QuantizeRowQ8_K(const float* src, void* dst, int64_t n) {
  BlockQ8_K* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < kQK_K; j += 8) m = _mm256_max_ps(m, AbsPs(_mm256_loadu_ps(x + j)));
    const float amax = HmaxPs(m);
    if (amax == 0) {
      std::memset(&y[i], 0, sizeof(y[i]));
      continue;
    }
    float max = 0;
    const __m256 vamax = _mm256_set1_ps(amax);
    for (int j = 0; j < kQK_K; j += 8) {
      const int hit =
          _mm256_movemask_ps(_mm256_cmp_ps(AbsPs(_mm256_loadu_ps(x + j)), vamax, _CMP_EQ_OQ));
      if (hit != 0) {
        max = x[j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    for (int j = 0; j < kQK_K; j += 32) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * k), vs);
        q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(v), top);
      }
      const __m256i packed = PackI32ToI8(q[0], q[1], q[2], q[3]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), packed);
      // Sums of 16 signed bytes: bias to unsigned, sum of absolute differences against 0.
      const __m256i sad =
          _mm256_sad_epu8(_mm256_xor_si256(packed, _mm256_set1_epi8(static_cast<char>(0x80))),
                          _mm256_setzero_si256());
      alignas(32) int64_t s[4];
      _mm256_store_si256(reinterpret_cast<__m256i*>(s), sad);
      y[i].bsums[j / 16] = static_cast<int16_t>(s[0] + s[1] - 128 * 16);
      y[i].bsums[j / 16 + 1] = static_cast<int16_t>(s[2] + s[3] - 128 * 16);
    }
    y[i].d = 1 / iscale;
  }
}

}  // namespace r1d::kernels::avx2
