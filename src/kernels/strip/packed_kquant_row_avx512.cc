// Products of Q4_K and Q6_K weights packed at load (packed_gemm.h, layouts in
// packed_kquant_layout.h) against Q8_K activations, AVX-512 F + BW + VNNI, in the row order of
// packed_row_order.h, 16 rows at a time, unpacked from the packed bits in registers: per
// sub-block the exact integer sum of its products (vpdpbusd, 64 products per instruction),
// times its scale (vpmulld), summed over the super-block; then one FMA per token and
// super-block. About half the multiply instructions of llama.cpp's order.
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

struct Q4_KRow : Q4_KLayout, Q4KActivations {
  static constexpr int kTileTokens = 8;
  static constexpr int kStateVectors = 1;

  // Sub-block j = 2c + odd of T tokens: sums[t] += scale_j * (exact sum of its 32 products),
  // the products in P partial sums (independent dependency chains for small tiles).
  template <int odd, int T>
  [[gnu::always_inline]] static void SubBlock(const uint8_t* blk, int c,
                                              const int8_t* const (&q)[T], __m512i (&sums)[T]) {
    constexpr int P = T == 1 ? 4 : T == 2 ? 2 : 1;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    __m512i part[T][P];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
      for (int k = 0; k < P; ++k) part[t][k] = _mm512_setzero_si512();
    }
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) {
      const __m512i v = _mm512_load_si512(blk + QuantVectorAt(l, c));
      const __m512i w =
          odd ? _mm512_and_si512(_mm512_srli_epi16(v, 4), low4) : _mm512_and_si512(v, low4);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        part[t][l % P] =
            _mm512_dpbusd_epi32(part[t][l % P], w, Broadcast32(q[t] + 64 * c + 32 * odd + 4 * l));
      }
    }
    const __m512i scale = _mm512_cvtepu8_epi32(
        _mm_load_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * (2 * c + odd))));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      __m512i sum = part[t][0];
#pragma GCC unroll 4
      for (int k = 1; k < P; ++k) sum = _mm512_add_epi32(sum, part[t][k]);
      sums[t] = _mm512_add_epi32(sums[t], _mm512_mullo_epi32(sum, scale));
    }
  }

  template <int T>
  static void Tile(const TileArgs& a) {
    const int64_t nsb = a.n / 256;
    __m512 acc[T][1];
    LoadSums(acc, a, 0);
    for (int64_t sb = a.b0; sb < a.b1; ++sb) {
      const uint8_t* blk = a.strip + sb * kBlockBytes;
      PrefetchAhead(a, blk, kBlockBytes, kPrefetchBlocks);
      const int8_t* q[T];
      __m512i sums[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        q[t] = Quants(a.act + t * a.act_stride) + sb * 256;
        sums[t] = _mm512_setzero_si512();
      }
#pragma GCC unroll 1
      for (int c = 0; c < 4; ++c) {
        SubBlock<0>(blk, c, q, sums);
        SubBlock<1>(blk, c, q, sums);
      }
      // The mins: sum over sub-blocks of min_j * (sum of the activations' quants of j).
      __m512i mins[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        mins[k] = _mm512_cvtepu8_epi16(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + kMinsAt + 32 * k)));
      }
      const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk)));
      const __m512 dmin_w =
          _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + kDminAt)));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = a.act + t * a.act_stride;
        const int32_t* pairs = Extra(at, nsb, sb);
        __m512i m = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k)
          m = _mm512_dpwssd_epi32(m, mins[k], _mm512_set1_epi32(pairs[k]));
        const float da = Scale(at, nsb, sb);
        acc[t][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(da), dw),
                                    _mm512_cvtepi32_ps(sums[t]), acc[t][0]);
        acc[t][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(-da), dmin_w),
                                    _mm512_cvtepi32_ps(m), acc[t][0]);
      }
    }
    FinishRows(acc, a);
  }
};

struct Q6_KRow : Q6_KLayout, Q6KRowActivations {
  static constexpr int kTileTokens = 8;
  static constexpr int kStateVectors = 1;

  // Wide tiles (T > 4): sub-blocks j = 2 * (4h + i) + half of chunks i and i + 2 of T tokens,
  // which read the same two vectors of each lane (their low bits are the two nibbles of one).
  // Two partial sums per token are live; each lane's two vectors are reloaded per pair of
  // chunks, which T tokens amortize. sums[t] += scale_j * (exact sum of the 16 products of j).
  template <int i, int T>
  [[gnu::always_inline]] static void SubBlockPair(const uint8_t* blk, int h, int half,
                                                  const int8_t* const (&q)[T], int64_t corr_at,
                                                  __m512i (&sums)[T]) {
    const int j0 = 2 * (4 * h + i) + half, j1 = j0 + 4;
    __m512i part[T][2];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      part[t][0] = _mm512_set1_epi32(Load32(q[t] + corr_at + 4 * j0));
      part[t][1] = _mm512_set1_epi32(Load32(q[t] + corr_at + 4 * j1));
    }
#pragma GCC unroll 4
    for (int l = 4 * half; l < 4 * half + 4; ++l) {
      const __m512i low = _mm512_load_si512(blk + VectorAt(l, h, i));
      const __m512i high = _mm512_load_si512(blk + VectorAt(l, h, 2));
      const __m512i w0 = Unpack<i>(low, low, high);
      const __m512i w1 = Unpack<i + 2>(low, low, high);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        part[t][0] =
            _mm512_dpbusd_epi32(part[t][0], w0, Broadcast32(q[t] + 32 * (4 * h + i) + 4 * l));
        part[t][1] =
            _mm512_dpbusd_epi32(part[t][1], w1, Broadcast32(q[t] + 32 * (4 * h + i + 2) + 4 * l));
      }
    }
    const __m512i scale0 = _mm512_cvtepi8_epi32(
        _mm_load_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * j0)));
    const __m512i scale1 = _mm512_cvtepi8_epi32(
        _mm_load_si128(reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * j1)));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      sums[t] = _mm512_add_epi32(sums[t], _mm512_mullo_epi32(part[t][0], scale0));
      sums[t] = _mm512_add_epi32(sums[t], _mm512_mullo_epi32(part[t][1], scale1));
      // Keeps GCC from reassociating the 16 additions into a tree, which would hold every
      // sub-block's partial sums live at once and spill them.
      asm("" : "+v"(sums[t]));
    }
  }

  // Sub-blocks 2 * (4h + i) + half, i = 0..3 (lanes 4 * half .. + 3 of chunks 4h + i) of T
  // tokens: sums[t] += scale_j * (exact sum of the 16 products of sub-block j), the stored
  // quants' + 32 undone by the activations' correction. Each vector is unpacked once per tile.
  template <int T>
  [[gnu::always_inline]] static void Half(const uint8_t* blk, int h, int half,
                                          const int8_t* const (&q)[T], int64_t corr_at,
                                          __m512i (&sums)[T]) {
    __m512i part[T][4];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i)
        part[t][i] = _mm512_set1_epi32(Load32(q[t] + corr_at + 4 * (2 * (4 * h + i) + half)));
    }
#pragma GCC unroll 4
    for (int l = 4 * half; l < 4 * half + 4; ++l) {
      const __m512i low0 = _mm512_load_si512(blk + VectorAt(l, h, 0));
      const __m512i low1 = _mm512_load_si512(blk + VectorAt(l, h, 1));
      const __m512i high = _mm512_load_si512(blk + VectorAt(l, h, 2));
      Chunk<0>(Unpack<0>(low0, low1, high), q, h, l, part);
      Chunk<1>(Unpack<1>(low0, low1, high), q, h, l, part);
      Chunk<2>(Unpack<2>(low0, low1, high), q, h, l, part);
      Chunk<3>(Unpack<3>(low0, low1, high), q, h, l, part);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      const __m512i scale = _mm512_cvtepi8_epi32(_mm_load_si128(
          reinterpret_cast<const __m128i*>(blk + kScalesAt + 16 * (2 * (4 * h + i) + half))));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        sums[t] = _mm512_add_epi32(sums[t], _mm512_mullo_epi32(part[t][i], scale));
        asm("" : "+v"(sums[t]));  // no reassociation, as in SubBlockPair
      }
    }
  }

  template <int i, int T>
  [[gnu::always_inline]] static void Chunk(__m512i w, const int8_t* const (&q)[T], int h, int l,
                                           __m512i (&part)[T][4]) {
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t)
      part[t][i] = _mm512_dpbusd_epi32(part[t][i], w, Broadcast32(q[t] + 32 * (4 * h + i) + 4 * l));
  }

  template <int T>
  static void Tile(const TileArgs& a) {
    const int64_t nsb = a.n / 256;
    __m512 acc[T][1];
    LoadSums(acc, a, 0);
    for (int64_t sb = a.b0; sb < a.b1; ++sb) {
      const uint8_t* blk = a.strip + sb * kBlockBytes;
      PrefetchAhead(a, blk, kBlockBytes, kPrefetchBlocks);
      // A token's corrections are at the same distance from its quants as the first token's
      // (one register for all tokens rather than a pointer each).
      const int64_t corr_at =
          reinterpret_cast<const int8_t*>(Extra(a.act, nsb, sb)) - (Quants(a.act) + sb * 256);
      const int8_t* q[T];
      __m512i sums[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        q[t] = Quants(a.act + t * a.act_stride) + sb * 256;
        sums[t] = _mm512_setzero_si512();
      }
#pragma GCC unroll 1
      for (int h = 0; h < 2; ++h) {
        if constexpr (T <= 4) {
          // Narrow tiles: 4 sub-block sums per token stay in registers, as independent chains.
          Half(blk, h, 0, q, corr_at, sums);
          Half(blk, h, 1, q, corr_at, sums);
        } else {
#pragma GCC unroll 1
          for (int half = 0; half < 2; ++half) {
            SubBlockPair<0>(blk, h, half, q, corr_at, sums);
            SubBlockPair<1>(blk, h, half, q, corr_at, sums);
          }
        }
      }
      const __m512 dw = _mm512_load_ps(blk);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const float da = Scale(a.act + t * a.act_stride, nsb, sb);
        acc[t][0] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(da), dw),
                                    _mm512_cvtepi32_ps(sums[t]), acc[t][0]);
      }
    }
    FinishRows(acc, a);
  }
};

}  // namespace

const parity::QuantGemm kRowOrderGemmQ4_K = {Q4_KRow::PreparedBytes, Q4_KRow::Prepare,
                                             PackedStrips<Q4_KRow>::Run};
const parity::QuantGemm kRowOrderGemmQ6_K = {Q6_KRow::PreparedBytes, Q6_KRow::Prepare,
                                             PackedStrips<Q6_KRow>::Run};

}  // namespace r1d::kernels::strip::avx512
