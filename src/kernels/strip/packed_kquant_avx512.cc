// Products of Q4_K and Q6_K weights packed at load (packed_gemm.h, layouts in
// packed_kquant_layout.h) against Q8_K activations, AVX-512 F + BW + VNNI: the lane sums of
// KDotWithMins and DotQ6_K (cpu_reference_order.h) for 16 rows, as the strip products form
// them, unpacked from the packed bits in registers.
//
// Loop order: for each lane l, the integer lane sums of up to 8 tokens run over the whole
// super-block (one register per token), then one FMA per token. Weights are unpacked once per
// token tile, and the sub-block scales of the lane stay in registers.
//
// Multiplies and float FMAs share two pipes on the cores this was measured on, while shifts,
// adds and broadcasts go elsewhere (bench/RESULTS.md, 2026-12-07). So the 4-product sums of two
// sub-blocks are made non-negative and packed into the 16-bit halves of one lane, and a single
// vpdpwssd applies both scales: 3 multiplies per 128 products instead of 4, the same integers.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own set1/mask intrinsics as
// uninitialized (a false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/strip/packed_gemm.h"
#include "kernels/strip/packed_kquant_layout.h"
#include "kernels/strip/strip_activations.h"
#include "kernels/strip/strip_common_avx512.h"

namespace r1d::kernels::strip::avx512 {
namespace {

using namespace detail;

struct Q4_K : Q4_KLayout, Q4KUnsignedActivations {
  static constexpr int kTileTokens = 8;
  static constexpr int kStateVectors = 12;  // 8 lanes + 4 min lanes
  // Super-blocks per pass of RunStrip, the most LaneStarts holds.
  static constexpr int64_t kMaxPassBlocks = PassBlocks(kBlockBytes);

  // The scale of sub-block j in both 16-bit halves of each row's lane.
  [[gnu::always_inline]] static __m512i ScaleBothHalves(const uint8_t* blk, int j) {
    const __m512i s = _mm512_cvtepu8_epi32(
        _mm_load_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * j)));
    return _mm512_or_si512(s, _mm512_slli_epi32(s, 16));
  }

  // The scales of sub-blocks 2c (low half) and 2c + 1 (high half) of each row's lane.
  [[gnu::always_inline]] static __m512i ScalePair(const uint8_t* blk, int c) {
    const auto* at = reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * (2 * c));
    return _mm512_or_si512(_mm512_cvtepu8_epi32(_mm_load_si128(at)),
                           _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm_load_si128(at + 1)), 16));
  }

  // The nibbles of packed vector (l, c): quants of sub-block 2c (`lo`) and 2c + 1 (`hi`).
  [[gnu::always_inline]] static void Nibbles(const uint8_t* blk, int l, int c, __m512i low4,
                                             __m512i& lo, __m512i& hi) {
    const __m512i v = _mm512_load_si512(blk + QuantVectorAt(l, c));
    lo = _mm512_and_si512(v, low4);
    hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
  }

  // Lane l's sums for 4 + 4 quants of sub-blocks 2c (nibbles `lo`) and 2c + 1 (`hi`) against
  // unsigned activations a_lo, a_hi (quant + 128): 4-product sums that lie in [0, 4 * 15 * 255],
  // the odd one in the high 16-bit half and the even one in the low half (it is below 2^15, so
  // it never carries into the other and reads as a positive int16).
  [[gnu::always_inline]] static __m512i PackedPair(__m512i lo, __m512i hi, __m512i a_lo,
                                                   __m512i a_hi) {
    const __m512i odd = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a_hi, hi);
    return _mm512_dpbusd_epi32(_mm512_slli_epi32(odd, 16), a_lo, lo);
  }

  // The start of each lane's integer sum in the packed-pair form, for the super-blocks of the
  // pass: -128 * sum over sub-blocks of scale * (sum of the lane's 4 quants), which undoes the
  // + 128 of the activations. It depends on the weights alone, so the pass's first tile computes
  // it (RunStrip runs that tile first and widest: when a later tile takes this form, the first
  // one did too) and the others reuse it from this thread's buffer.
  static const __m512i* LaneStarts(const TileArgs& a, const uint8_t* blk, int64_t sb,
                                   const __m512i (&pair)[4], __m512i low4) {
    alignas(64) thread_local __m512i starts[kMaxPassBlocks][8];
    __m512i* out = starts[sb - a.b0];
    if (!a.first_tile) return out;
    const __m512i ones = _mm512_set1_epi8(1);
#pragma GCC unroll 1
    for (int l = 0; l < 8; ++l) {
      __m512i sum = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        __m512i lo, hi;
        Nibbles(blk, l, c, low4, lo, hi);
        sum = _mm512_dpwssd_epi32(sum, PackedPair(lo, hi, ones, ones), pair[c]);
      }
      out[l] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7));
    }
    return out;
  }

  // The packed-pair form (PackedPair: 3 multiplies per 128 products) needs the lane starts,
  // which cost about one token's products: full tiles compute them, and every later tile of the
  // pass reuses them. The first tile of a call with fewer tokens, one-token decode among them,
  // takes the pair-sum form (vpmaddubsw, 4 multiplies per 128 products): single tiles of 4-7
  // tokens measured slower in the packed-pair form with its starts to compute.
  template <int T>
  static void Tile(const TileArgs& a) {
    if constexpr (T == kTileTokens) {
      Lanes<T, true>(a);
    } else if (a.first_tile) {
      Lanes<T, false>(a);
    } else {
      Lanes<T, true>(a);
    }
  }

  template <int T, bool kPaired>
  static void Lanes(const TileArgs& a) {
    const int64_t nsb = a.n / 256;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    __m512 acc[T][12];
    LoadSums(acc, a, 0);
    for (int64_t sb = a.b0; sb < a.b1; ++sb) {
      const uint8_t* blk = a.strip + sb * kBlockBytes;
      PrefetchAhead(a, blk, kBlockBytes, kPrefetchBlocks);
      // Paired form: scale pairs per chunk and the lane starts. Pair-sum form: each sub-block's
      // scale in both halves, for vpdpwssd with the pair sums of vpmaddubsw.
      __m512i scale[kPaired ? 4 : 8];
      const __m512i* starts = nullptr;
      if constexpr (kPaired) {
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) scale[c] = ScalePair(blk, c);
        starts = LaneStarts(a, blk, sb, scale, low4);
      } else {
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) scale[j] = ScaleBothHalves(blk, j);
      }
      const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk)));
      const uint8_t* q[T];
      __m512 d[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = a.act + t * a.act_stride;
        q[t] = (kPaired ? UnsignedQuants(at, a.n) : reinterpret_cast<const uint8_t*>(Quants(at))) +
               sb * 256;
        d[t] = _mm512_mul_ps(_mm512_set1_ps(Scale(at, nsb, sb)), dw);
      }
#pragma GCC unroll 1
      for (int l = 0; l < 8; ++l) {
        __m512i lanes[T];
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) lanes[t] = kPaired ? starts[l] : _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int c = 0; c < 4; ++c) {
          __m512i lo, hi;
          Nibbles(blk, l, c, low4, lo, hi);
#pragma GCC unroll 8
          for (int t = 0; t < T; ++t) {
            const uint8_t* qa = q[t] + 64 * c + 4 * l;
            const __m512i a_lo = _mm512_set1_epi32(Load32(qa));
            const __m512i a_hi = _mm512_set1_epi32(Load32(qa + 32));
            if constexpr (kPaired) {
              lanes[t] = _mm512_dpwssd_epi32(lanes[t], PackedPair(lo, hi, a_lo, a_hi), scale[c]);
            } else {
              // Pair sums of at most 2 * 15 * 128 in size: no saturation.
              const __m512i p_lo = _mm512_maddubs_epi16(lo, a_lo);
              lanes[t] = _mm512_dpwssd_epi32(lanes[t], p_lo, scale[2 * c]);
              const __m512i p_hi = _mm512_maddubs_epi16(hi, a_hi);
              lanes[t] = _mm512_dpwssd_epi32(lanes[t], p_hi, scale[2 * c + 1]);
            }
          }
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          acc[t][l] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(lanes[t]), acc[t][l]);
        }
      }
      const __m512 dmin_w =
          _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + kDminAt)));
#pragma GCC unroll 8
      for (int k = 0; k < 4; ++k) {
        const __m512i mins = _mm512_cvtepu8_epi16(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + kMinsAt + 32 * k)));
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const uint8_t* at = a.act + t * a.act_stride;
          const __m512 dmin = _mm512_mul_ps(_mm512_set1_ps(-Scale(at, nsb, sb)), dmin_w);
          const __m512i m = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mins,
                                                _mm512_set1_epi32(Extra(at, nsb, sb)[k]));
          acc[t][8 + k] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(m), acc[t][8 + k]);
        }
      }
    }
    if (!a.last) return SaveSums(acc, a, 0);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512 m =
          _mm512_add_ps(_mm512_add_ps(acc[t][8], acc[t][10]), _mm512_add_ps(acc[t][9], acc[t][11]));
      _mm512_mask_storeu_ps(a.y + t * a.y_stride, a.mask, _mm512_add_ps(FoldLanes(acc[t]), m));
    }
  }
};

struct Q6_K : Q6_KLayout, Q6KPairedActivations {
  static constexpr int kTileTokens = 8;
  static constexpr int kStateVectors = 8;

  // Chunks c = 2k (weights w0) and 2k + 1 (w1) of lane l for every token: the corrected
  // 4-product sums plus kPairBias, in [0, 32640], packed in the low and high 16-bit halves of
  // each row's lane (the low one never carries), then one vpdpwssd with the scale pair: 3
  // multiplies per 128 products instead of 4.
  template <int T>
  [[gnu::always_inline]] static void ChunkPair(__m512i w0, __m512i w1, __m512i scales,
                                               const uint8_t* const (&block)[T], int k, int l,
                                               __m512i (&lanes)[T]) {
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const uint8_t* q = block[t];
      const __m512i high = _mm512_dpbusd_epi32(
          _mm512_setzero_si512(), w1, _mm512_set1_epi32(Load32(q + 32 * (2 * k + 1) + 4 * l)));
      const __m512i start = _mm512_add_epi32(_mm512_slli_epi32(high, 16),
                                             _mm512_set1_epi32(Load32(q + 256 + 4 * (8 * k + l))));
      const __m512i both =
          _mm512_dpbusd_epi32(start, w0, _mm512_set1_epi32(Load32(q + 32 * (2 * k) + 4 * l)));
      lanes[t] = _mm512_dpwssd_epi32(lanes[t], both, scales);
    }
  }

  template <int T>
  static void Tile(const TileArgs& a) {
    const int64_t nsb = a.n / 256;
    __m512 acc[T][8];
    LoadSums(acc, a, 0);
    for (int64_t sb = a.b0; sb < a.b1; ++sb) {
      const uint8_t* blk = a.strip + sb * kBlockBytes;
      PrefetchAhead(a, blk, kBlockBytes, kPrefetchBlocks);
      const __m512 dw = _mm512_load_ps(blk);
      const uint8_t* block[T];
      __m512 d[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = a.act + t * a.act_stride;
        block[t] = Block(at, sb);
        d[t] = _mm512_mul_ps(_mm512_set1_ps(Scale(at, nsb, sb)), dw);
      }
      // Lanes 0-3 take the even sub-blocks' scales, lanes 4-7 the odd ones'.
#pragma GCC unroll 1
      for (int odd = 0; odd < 2; ++odd) {
        // Chunk pair k: the scales of sub-blocks 2(2k) + odd and 2(2k + 1) + odd in the low and
        // high halves. Every lane sum starts at -kPairBias * (sum of its 8 scales), which undoes
        // the bias of its 8 chunks.
        __m512i scales[4];
        __m512i scale_sum = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m512i s0 = _mm512_cvtepi8_epi32(_mm_load_si128(
              reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * (4 * k + odd))));
          const __m512i s1 = _mm512_cvtepi8_epi32(_mm_load_si128(
              reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * (4 * k + 2 + odd))));
          scales[k] = _mm512_or_si512(_mm512_and_si512(s0, _mm512_set1_epi32(0xFFFF)),
                                      _mm512_slli_epi32(s1, 16));
          scale_sum = _mm512_add_epi32(scale_sum, _mm512_add_epi32(s0, s1));
        }
        const __m512i lane_start = _mm512_mullo_epi32(scale_sum, _mm512_set1_epi32(-kPairBias));
#pragma GCC unroll 1
        for (int l = 4 * odd; l < 4 * odd + 4; ++l) {
          __m512i lanes[T];
#pragma GCC unroll 8
          for (int t = 0; t < T; ++t) lanes[t] = lane_start;
#pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            const __m512i low0 = _mm512_load_si512(blk + VectorAt(l, h, 0));
            const __m512i low1 = _mm512_load_si512(blk + VectorAt(l, h, 1));
            const __m512i high = _mm512_load_si512(blk + VectorAt(l, h, 2));
            // Chunks 4h + i: pairs 2h (chunks 4h, 4h + 1) and 2h + 1.
            ChunkPair(Unpack<0>(low0, low1, high), Unpack<1>(low0, low1, high), scales[2 * h],
                      block, 2 * h, l, lanes);
            ChunkPair(Unpack<2>(low0, low1, high), Unpack<3>(low0, low1, high), scales[2 * h + 1],
                      block, 2 * h + 1, l, lanes);
          }
#pragma GCC unroll 8
          for (int t = 0; t < T; ++t) {
            acc[t][l] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(lanes[t]), acc[t][l]);
          }
        }
      }
    }
    FinishLanes(acc, a);
  }
};

}  // namespace

const PackedFormat kPackedQ4_K = {Q4_K::kBlockElems,
                                  Q4_K::kBlockBytes,
                                  Q4_K::Pack,
                                  {Q4_K::PreparedBytes, Q4_K::Prepare, PackedStrips<Q4_K>::Run},
                                  kRowOrderGemmQ4_K};
const PackedFormat kPackedQ6_K = {Q6_K::kBlockElems,
                                  Q6_K::kBlockBytes,
                                  Q6_K::Pack,
                                  {Q6_K::PreparedBytes, Q6_K::Prepare, PackedStrips<Q6_K>::Run},
                                  kRowOrderGemmQ6_K};

}  // namespace r1d::kernels::strip::avx512
