// Strip products of Q4_K and Q6_K against Q8_K activations, AVX-512 F + BW + VNNI: the lane
// sums of KDotWithMins and DotQ6_K (cpu_reference_order.h) for 16 rows.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own set1/mask intrinsics as
// uninitialized (a false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "core/fp16.h"
#include "kernels/strip/strip_activations.h"
#include "kernels/strip/strip_common_avx512.h"
#include "kernels/strip/strip_gemm.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip::avx512 {
namespace {

using namespace detail;
using tensor::BlockQ4_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;

struct Q4_K : Q4KActivations {
  static constexpr int kTileTokens = 1;  // 8 lane sums of 2 tokens would spill (GCC 12)
  static constexpr int64_t kBlockElems = 256;
  static constexpr int kStateVectors = 12;  // 8 lanes + 4 min lanes
  // Strip super-block: fp32 d and dmin of the 16 rows; the 8 sub-block scales (low-half
  // vectors); the 8 mins as 4 vectors of int16 pairs; then 8 sub-blocks x 8 vectors of quants.
  static constexpr int64_t kScalesAt = 128;
  static constexpr int64_t kMinsAt = kScalesAt + 8 * 64;
  static constexpr int64_t kQuantsAt = kMinsAt + 4 * 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 64 * 64;

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    const StripRows s = MakeStripRows(w, w_row_bytes, rows);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i low6 = _mm512_set1_epi32(63);
    const __m512i low2 = _mm512_set1_epi32(3);
    const __m512i nibble = _mm512_set1_epi32(0xF);
    for (int64_t sb = 0; sb < n / 256; ++sb) {
      const int64_t at = sb * static_cast<int64_t>(sizeof(BlockQ4_K));
      uint8_t* out = strip + sb * kBlockBytes;
      const __m512i dd = GatherDword(s, at);
      _mm512_store_ps(out, HalvesToFloat(dd, false));
      _mm512_store_ps(out + 64, HalvesToFloat(dd, true));
      // The packed 6-bit scales and mins (Q4KScaleMin), 16 rows at a time.
      const __m512i s0 = GatherDword(s, at + 4), s1 = GatherDword(s, at + 8);
      const __m512i s2 = GatherDword(s, at + 12);
      __m512i scale[8], min[8];
      for (int j = 0; j < 4; ++j) {
        scale[j] = _mm512_and_si512(_mm512_srli_epi32(s0, 8 * j), low6);
        min[j] = _mm512_and_si512(_mm512_srli_epi32(s1, 8 * j), low6);
        const __m512i top_s = _mm512_and_si512(_mm512_srli_epi32(s0, 8 * j + 6), low2);
        const __m512i top_m = _mm512_and_si512(_mm512_srli_epi32(s1, 8 * j + 6), low2);
        scale[4 + j] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(s2, 8 * j), nibble),
                                       _mm512_slli_epi32(top_s, 4));
        min[4 + j] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(s2, 8 * j + 4), nibble),
                                     _mm512_slli_epi32(top_m, 4));
      }
      for (int j = 0; j < 8; ++j) _mm512_store_si512(out + kScalesAt + j * 64, scale[j]);
      for (int k = 0; k < 4; ++k) {
        _mm512_store_si512(out + kMinsAt + k * 64,
                           _mm512_or_si512(min[2 * k], _mm512_slli_epi32(min[2 * k + 1], 16)));
      }
      // Chunk c of 32 bytes: low nibbles are sub-block 2c, high nibbles 2c + 1.
      for (int c = 0; c < 4; ++c) {
        __m512i lo[8], hi[8];
        for (int r = 0; r < 8; ++r) {
          const __m512i z = LoadRowPair(s, r, at + 16 + 32 * c);
          lo[r] = _mm512_and_si512(z, low4);
          hi[r] = _mm512_and_si512(_mm512_srli_epi16(z, 4), low4);
        }
        TransposeRowPairs(lo);
        TransposeRowPairs(hi);
        StoreVectors(lo, out + kQuantsAt + (2 * c) * 8 * 64);
        StoreVectors(hi, out + kQuantsAt + (2 * c + 1) * 8 * 64);
      }
    }
  }

  // KDotWithMins of cpu_reference_order.h for 16 rows: lane l (quants 4l..4l+3 of each
  // sub-block) sums scale * lane sum over the sub-blocks in integers, then one FMA per
  // super-block; the 4 min lanes likewise; Hsum8 of the lanes plus the pairwise min fold.
  template <int T>
  static void Tile(const TileArgs& a) {
    const int64_t n = a.n, act_stride = a.act_stride;
    const uint8_t *strip = a.strip, *act = a.act;
    const int64_t nsb = n / 256;
    __m512 acc[T][8], acc_min[T][4];
    LoadSums(acc, a, 0);
    LoadSums(acc_min, a, 8);
    for (int64_t sb = a.b0; sb < a.b1; ++sb) {
      const uint8_t* blk = strip + sb * kBlockBytes;
      __m512i lanes[T][8];
      ZeroLanes(lanes);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const uint8_t* q = blk + kQuantsAt + j * 8 * 64;
        const __m512i scale = _mm512_load_si512(blk + kScalesAt + j * 64);
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          const __m512i w = _mm512_load_si512(q + l * 64);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const int8_t* a = Quants(act + t * act_stride) + sb * 256 + j * 32;
            const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w,
                                                    _mm512_set1_epi32(Load32(a + l * 4)));
            lanes[t][l] = _mm512_dpwssd_epi32(lanes[t][l], sum, scale);
          }
        }
      }
      const __m512 dw = _mm512_load_ps(blk);
      const __m512 dmin_w = _mm512_load_ps(blk + 64);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = act + t * act_stride;
        const float da = Scale(at, nsb, sb);
        const __m512 d = _mm512_mul_ps(_mm512_set1_ps(da), dw);
        const __m512 dmin = _mm512_mul_ps(_mm512_set1_ps(-da), dmin_w);
        FmaLaneSums(d, lanes[t], acc[t]);
        const int32_t* pairs = Extra(at, nsb, sb);
#pragma GCC unroll 16
        for (int k = 0; k < 4; ++k) {
          const __m512i m =
              _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_load_si512(blk + kMinsAt + k * 64),
                                  _mm512_set1_epi32(pairs[k]));
          acc_min[t][k] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(m), acc_min[t][k]);
        }
      }
    }
    if (!a.last) {
      SaveSums(acc, a, 0);
      return SaveSums(acc_min, a, 8);
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 m = _mm512_add_ps(_mm512_add_ps(acc_min[t][0], acc_min[t][2]),
                                     _mm512_add_ps(acc_min[t][1], acc_min[t][3]));
      _mm512_mask_storeu_ps(a.y + t * a.y_stride, a.mask, _mm512_add_ps(FoldLanes(acc[t]), m));
    }
  }
};

struct Q6_K : Q6KActivations {
  static constexpr int kTileTokens = 1;
  static constexpr int64_t kBlockElems = 256;
  static constexpr int kStateVectors = 8;
  // Strip super-block: fp32 d of the 16 rows; the 16 sub-block scales (low-half vectors); then
  // 8 chunks of 32 x 8 vectors of quants (0..63, the stored value + 32).
  static constexpr int64_t kScalesAt = 64;
  static constexpr int64_t kQuantsAt = kScalesAt + 16 * 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 64 * 64;

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    const StripRows s = MakeStripRows(w, w_row_bytes, rows);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i low16 = _mm512_set1_epi32(0xFFFF);
    for (int64_t sb = 0; sb < n / 256; ++sb) {
      const int64_t at = sb * static_cast<int64_t>(sizeof(BlockQ6_K));
      uint8_t* out = strip + sb * kBlockBytes;
      // d is the last 2 bytes of the block: the high half of the dword 2 bytes before.
      _mm512_store_ps(out, HalvesToFloat(GatherDword(s, at + 206), true));
      for (int k = 0; k < 4; ++k) {  // int8 scales 4k..4k+3, sign-extended to 16 bits
        const __m512i g = GatherDword(s, at + 192 + 4 * k);
        for (int i = 0; i < 4; ++i) {
          const __m512i scale = _mm512_srai_epi32(_mm512_slli_epi32(g, 24 - 8 * i), 24);
          _mm512_store_si512(out + kScalesAt + (4 * k + i) * 64, _mm512_and_si512(scale, low16));
        }
      }
      // Half h: quants 32i + l (i < 4) take the low (i even) or high (i odd) nibble of
      // ql[64h + l] (i < 2) or ql[64h + 32 + l] and bits 2i, 2i + 1 of qh[32h + l].
      for (int h = 0; h < 2; ++h) {
        for (int i = 0; i < 4; ++i) {
          __m512i z[8];
          for (int r = 0; r < 8; ++r) {
            const __m512i ql = LoadRowPair(s, r, at + 64 * h + 32 * (i % 2));
            const __m512i qh = LoadRowPair(s, r, at + 128 + 32 * h);
            const __m512i low = i < 2 ? ql : _mm512_srli_epi16(ql, 4);
            // Bits 2i, 2i + 1 of qh moved to bits 4, 5 (16-bit shifts; the mask keeps bytes
            // apart).
            const int shift = 2 * i - 4;
            const __m512i high =
                shift < 0 ? _mm512_slli_epi16(qh, -shift) : _mm512_srli_epi16(qh, shift);
            z[r] = _mm512_or_si512(_mm512_and_si512(low, low4),
                                   _mm512_and_si512(high, _mm512_set1_epi8(0x30)));
          }
          TransposeRowPairs(z);
          StoreVectors(z, out + kQuantsAt + (4 * h + i) * 8 * 64);
        }
      }
    }
  }

  // DotQ6_K of cpu_reference_order.h for 16 rows: lane l of chunk c (32 quants) takes the
  // scale of sub-block 2c + l / 4; integer lanes over the super-block, one FMA, Hsum8.
  template <int T>
  static void Tile(const TileArgs& a) {
    const int64_t n = a.n, act_stride = a.act_stride;
    const uint8_t *strip = a.strip, *act = a.act;
    const int64_t nsb = n / 256;
    __m512 acc[T][8];
    LoadSums(acc, a, 0);
    for (int64_t sb = a.b0; sb < a.b1; ++sb) {
      const uint8_t* blk = strip + sb * kBlockBytes;
      __m512i lanes[T][8];
      ZeroLanes(lanes);
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) {
        const uint8_t* q = blk + kQuantsAt + c * 8 * 64;
        const __m512i scale_lo = _mm512_load_si512(blk + kScalesAt + (2 * c) * 64);
        const __m512i scale_hi = _mm512_load_si512(blk + kScalesAt + (2 * c + 1) * 64);
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          const __m512i w = _mm512_load_si512(q + l * 64);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const uint8_t* at = act + t * act_stride;
            const int8_t* a = Quants(at) + sb * 256 + c * 32;
            const int32_t* corr = Extra(at, nsb, sb) + c * 8;
            const __m512i sum = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[l]), w,
                                                    _mm512_set1_epi32(Load32(a + l * 4)));
            lanes[t][l] = _mm512_dpwssd_epi32(lanes[t][l], sum, l < 4 ? scale_lo : scale_hi);
          }
        }
      }
      const __m512 dw = _mm512_load_ps(blk);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 d = _mm512_mul_ps(_mm512_set1_ps(Scale(act + t * act_stride, nsb, sb)), dw);
        FmaLaneSums(d, lanes[t], acc[t]);
      }
    }
    FinishLanes(acc, a);
  }
};

}  // namespace

const parity::QuantGemm kStripQ4_K = {Q4_K::PreparedBytes, Q4_K::Prepare, Strip<Q4_K>::Run};
const parity::QuantGemm kStripQ6_K = {Q6_K::PreparedBytes, Q6_K::Prepare, Strip<Q6_K>::Run};

}  // namespace r1d::kernels::strip::avx512
