// AVX-512 kernels of Q4_K, Q5_K and Q6_K against Q8_K: 64 quants per 512-bit register, exact
// integer sums per super-block (maddubs of unsigned quants with int8 activations, madd with the
// sub-block scales spread by vpermw), one FMA per super-block.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::avx512 {
namespace {

using tensor::BlockQ4_K;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;
using tensor::kQK_K;

// vpermw index tables: entry k of row r is the scale index of int16 lane k. Compile-time
// constants only (a dynamic initializer in this file would run AVX-512 code at start-up).
struct ScaleIndex {
  alignas(64) int16_t idx[4][32];
};
constexpr ScaleIndex MakeIndex(int lanes_per_scale) {
  ScaleIndex t{};
  for (int r = 0; r < 4; ++r) {
    for (int k = 0; k < 32; ++k)
      t.idx[r][k] = static_cast<int16_t>(r * (32 / lanes_per_scale) + k / lanes_per_scale);
  }
  return t;
}
// Q4_K/Q5_K: 64 quants per step = 2 sub-blocks of 32 -> 16 int16 lanes per scale.
constexpr ScaleIndex kIndexK4 = MakeIndex(16);
// Q6_K: 64 quants per step = 4 sub-blocks of 16 -> 8 int16 lanes per scale.
constexpr ScaleIndex kIndexK6 = MakeIndex(8);

__m512i LoadIndex(const int16_t* p) { return _mm512_load_si512(p); }
__m512i Load64(const void* p) { return _mm512_loadu_si512(p); }
__m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// sum_j mins[j] * (bsums[2j] + bsums[2j+1]) as 4 int32.
__m128i MinsTimesBsums(const uint8_t* mins8, const int16_t* bsums) {
  const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums));
  const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bsums + 8));
  const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mins8)));
  return _mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1));
}

// Shared by Q4_K and Q5_K. Quants(block, c, state) returns the 64 unsigned quants of elements
// 64c .. 64c+63 (sub-blocks 2c, 2c+1), which match 64 contiguous activations.
template <class Block, class QuantsFn>
float DotKAsym(int64_t n, const void* w, const void* a, QuantsFn quants) {
  const Block* x = static_cast<const Block*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  __m512 acc = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    alignas(8) uint8_t scales[8], mins[8];
    UnpackScalesMinsK4(x[i].scales, scales, mins);
    const float d = HalfToFloat(x[i].d) * y[i].d;
    const float dmin = HalfToFloat(x[i].dmin) * y[i].d;
    acc_m =
        _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(MinsTimesBsums(mins, y[i].bsums)), acc_m);
    const __m512i scales16 = _mm512_castsi128_si512(
        _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales))));
    __m512i sumi = _mm512_setzero_si512();
    auto state = quants.Start(x[i]);
#pragma GCC unroll 4
    for (int c = 0; c < kQK_K / 64; ++c) {
      const __m512i q = quants.Next(x[i], c, &state);
      const __m512i p = _mm512_maddubs_epi16(q, Load64(y[i].qs + 64 * c));
      const __m512i s = _mm512_permutexvar_epi16(LoadIndex(kIndexK4.idx[c]), scales16);
      sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(p, s));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
  }
  return _mm512_reduce_add_ps(acc) - HsumPs128(acc_m);
}

// Low nibbles of qs[32c..] are elements 64c..64c+31, high nibbles the next 32.
__m512i Nibbles64(const uint8_t* qs32) {
  const __m256i q = Load32(qs32);
  const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

struct Q4KQuants {
  int Start(const BlockQ4_K&) const { return 0; }
  __m512i Next(const BlockQ4_K& b, int c, int*) const { return Nibbles64(b.qs + 32 * c); }
};

// Element 32s + l takes bit s of qh[l]: keep qh (for sub-blocks 2c) and qh >> 1 (2c + 1) side
// by side and shift both by 2 per step.
struct Q5KQuants {
  __m512i Start(const BlockQ5_K& b) const {
    const __m256i h = Load32(b.qh);
    return _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 1), 1);
  }
  __m512i Next(const BlockQ5_K& b, int c, __m512i* h) const {
    const __m512i bits = _mm512_slli_epi16(_mm512_and_si512(*h, _mm512_set1_epi8(1)), 4);
    *h = _mm512_srli_epi16(*h, 2);
    return _mm512_or_si512(Nibbles64(b.qs + 32 * c), bits);
  }
};

}  // namespace

float VecDotQ4_K(int64_t n, const void* w, const void* a) {
  return DotKAsym<BlockQ4_K>(n, w, a, Q4KQuants{});
}

float VecDotQ5_K(int64_t n, const void* w, const void* a) {
  return DotKAsym<BlockQ5_K>(n, w, a, Q5KQuants{});
}

float VecDotQ6_K(int64_t n, const void* w, const void* a) {
  const BlockQ6_K* x = static_cast<const BlockQ6_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m2 = _mm512_set1_epi8(0x30);
  // Per 256-bit half: shift counts that bring qh bit pairs (0-1, 2-3) / (4-5, 6-7) to bits 4-5.
  const __m512i shl_a = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i shr_b = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const __m256i scales16_256 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
    // Quants are stored +32: subtract 32 * sum_s scale_s * bsums_s.
    const __m256i offset = _mm256_madd_epi16(scales16_256, Load32(y[i].bsums));
    __m512i sumi = _mm512_sub_epi32(_mm512_setzero_si512(),
                                    _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
    const __m512i scales16 = _mm512_castsi256_si512(scales16_256);
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = Load64(x[i].ql + 64 * h);
      const __m256i qh256 = Load32(x[i].qh + 32 * h);
      const __m512i qh = _mm512_inserti64x4(_mm512_castsi256_si512(qh256), qh256, 1);
      // Elements 0-63 of this half: low nibbles of ql[0..63]; 64-127: high nibbles.
      const __m512i qa = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                         _mm512_and_si512(_mm512_sllv_epi16(qh, shl_a), m2));
      const __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                         _mm512_and_si512(_mm512_srlv_epi16(qh, shr_b), m2));
      const __m512i pa = _mm512_maddubs_epi16(qa, Load64(y[i].qs + 128 * h));
      const __m512i pb = _mm512_maddubs_epi16(qb, Load64(y[i].qs + 128 * h + 64));
      const __m512i sa = _mm512_permutexvar_epi16(LoadIndex(kIndexK6.idx[2 * h]), scales16);
      const __m512i sb = _mm512_permutexvar_epi16(LoadIndex(kIndexK6.idx[2 * h + 1]), scales16);
      sumi = _mm512_add_epi32(
          sumi, _mm512_add_epi32(_mm512_madd_epi16(pa, sa), _mm512_madd_epi16(pb, sb)));
    }
    const float d = HalfToFloat(x[i].d) * y[i].d;
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(sumi), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace r1d::kernels::avx512
