#pragma once

// The prepared activations of the strip products: the products on file-layout weights
// (strip_*_avx512.cc) and on weights packed at load (packed_*_avx512.cc) read the same layout,
// so they share one preparation per weight type.
#include <cstdint>
#include <cstring>

#include "core/fp16.h"
#include "kernels/strip/packed_gemm.h"
#include "kernels/strip/strip_common_avx512.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip::avx512::detail {

using tensor::BlockQ8_0;
using tensor::BlockQ8_K;

// Sub-block scales are stored as "low-half vectors" for vpdpwssd against 32-bit lane sums that
// fit 16 bits: the scale in the low 16 bits of each lane, zero in the high ones (which multiply
// the sum's sign extension).

// Q8_K activations: all quants, then per super-block the fp32 scale, then per super-block
// `kExtraDwords` dwords of the format's own (`Extra`).
template <int kExtraDwords>
struct Q8KActivations {
  static int64_t PreparedBytes(int64_t n) {
    return RoundUp64(n / 256 * (256 + 4 + 4 * kExtraDwords));
  }
  static const int8_t* Quants(const uint8_t* act) { return reinterpret_cast<const int8_t*>(act); }
  static float Scale(const uint8_t* act, int64_t nsb, int64_t sb) {
    return reinterpret_cast<const float*>(act + nsb * 256)[sb];
  }
  static const int32_t* Extra(const uint8_t* act, int64_t nsb, int64_t sb) {
    return reinterpret_cast<const int32_t*>(act + nsb * 260) + sb * kExtraDwords;
  }
  // Copies quants and scale; returns where super-block sb's extra dwords go.
  static int32_t* CopyBlock(const BlockQ8_K& y, int64_t nsb, int64_t sb, uint8_t* prepared) {
    std::memcpy(prepared + sb * 256, y.qs, 256);
    reinterpret_cast<float*>(prepared + nsb * 256)[sb] = y.d;
    return reinterpret_cast<int32_t*>(prepared + nsb * 260) + sb * kExtraDwords;
  }
};

struct Q4KActivations : Q8KActivations<4> {
  // Extra dwords: pairs of int16 sums of 32 quants (sub-blocks 2k and 2k+1), the operand of the
  // mins (at most 32 * 128 in size).
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* y = static_cast<const BlockQ8_K*>(a);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      auto* pairs =
          reinterpret_cast<int16_t*>(CopyBlock(y[sb], nsb, sb, static_cast<uint8_t*>(prepared)));
      for (int j = 0; j < 8; ++j) {
        pairs[j] = static_cast<int16_t>(y[sb].bsums[2 * j] + y[sb].bsums[2 * j + 1]);
      }
    }
  }
};

// Q4KActivations followed by a second copy of the quants, each plus 128 (0..255, the unsigned
// operand of vpdpbusd), for the packed Q4_K product in llama.cpp's order: with the nibbles as
// the signed operand every 4-product sum is non-negative, so two of them pack into the 16-bit
// halves of one lane. Tiles too narrow for that form read the signed quants as before.
struct Q4KUnsignedActivations : Q4KActivations {
  static int64_t PreparedBytes(int64_t n) { return Q4KActivations::PreparedBytes(n) + n; }
  static const uint8_t* UnsignedQuants(const uint8_t* act, int64_t n) {
    return act + Q4KActivations::PreparedBytes(n);
  }
  static void Prepare(int64_t n, const void* a, void* prepared) {
    Q4KActivations::Prepare(n, a, prepared);
    const auto* q = static_cast<const uint8_t*>(prepared);
    uint8_t* out = static_cast<uint8_t*>(prepared) + Q4KActivations::PreparedBytes(n);
    for (int64_t i = 0; i < n; ++i) out[i] = q[i] ^ 0x80;  // two's complement: q + 128
  }
};

struct Q6KActivations : Q8KActivations<64> {
  // Extra dwords: per group of 4 quants, -32 * their sum (undoes the + 32 of the weights in
  // that lane, so each lane sum is exact and within 16 bits before its scale).
  static void Corrections(const BlockQ8_K& y, int32_t* corrections) {
    for (int g = 0; g < 64; ++g) {
      int32_t sum = 0;
      for (int i = 4 * g; i < 4 * g + 4; ++i) sum += y.qs[i];
      corrections[g] = -32 * sum;
    }
  }
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* y = static_cast<const BlockQ8_K*>(a);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      Corrections(y[sb], CopyBlock(y[sb], nsb, sb, static_cast<uint8_t*>(prepared)));
    }
  }
};

// The activations of the packed Q6_K product: per super-block its 256 quants followed by one
// dword per lane and pair of chunks (2k, 2k + 1), the corrections of both chunks plus a bias of
// kPairBias each, packed in 16-bit halves (chunk 2k + 1 high); one pointer per token reaches
// both at fixed offsets. The bias makes every corrected 4-product sum lie in [0, 32640], so two
// pack into the halves of one lane without a borrow (packed_kquant_avx512.cc).
struct Q6KPairedActivations {
  static constexpr int32_t kPairBias = 16256;  // 4 * 127 * 32, the most negative lane sum
  static constexpr int64_t kActBlockBytes = 256 + 32 * 4;
  static int64_t PreparedBytes(int64_t n) { return RoundUp64(n / 256 * (kActBlockBytes + 4)); }
  // Super-block sb: quants at +0, the 32 packed corrections (pair k, lane l at 8k + l) at +256.
  static const uint8_t* Block(const uint8_t* act, int64_t sb) { return act + sb * kActBlockBytes; }
  static float Scale(const uint8_t* act, int64_t nsb, int64_t sb) {
    return reinterpret_cast<const float*>(act + nsb * kActBlockBytes)[sb];
  }
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* y = static_cast<const BlockQ8_K*>(a);
    auto* out = static_cast<uint8_t*>(prepared);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      uint8_t* block = out + sb * kActBlockBytes;
      std::memcpy(block, y[sb].qs, 256);
      int32_t corrections[64];  // chunk c, lane l at 8c + l
      Q6KActivations::Corrections(y[sb], corrections);
      auto* pairs = reinterpret_cast<int32_t*>(block + 256);
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 8; ++l) {
          const int32_t low = corrections[8 * (2 * k) + l] + kPairBias;
          const int32_t high = corrections[8 * (2 * k + 1) + l] + kPairBias;
          pairs[8 * k + l] = high * 65536 + low;  // both in [0, 32640]: no overflow
        }
      }
      reinterpret_cast<float*>(out + nsb * kActBlockBytes)[sb] = y[sb].d;
    }
  }
};

// Q8_0 activations prepared for the 32-element block types (Q8_0, Q5_0, Q4_0): all quants; per
// block the fp32 scale; per block and group of kGroup quants, -128 * their sum (undoes the
// + 128 of the weights of that group).
template <int kGroup>
struct Q8_0PreparedActivations {
  static constexpr int kGroups = 32 / kGroup;
  static int64_t PreparedBytes(int64_t n) { return RoundUp64(n / 32 * (32 + 4 + 4 * kGroups)); }

  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nb = n / 32;
    const auto* y = static_cast<const BlockQ8_0*>(a);
    auto* quants = static_cast<int8_t*>(prepared);
    auto* scales = reinterpret_cast<float*>(quants + nb * 32);
    auto* corrections = reinterpret_cast<int32_t*>(scales + nb);
    for (int64_t b = 0; b < nb; ++b) {
      std::memcpy(quants + b * 32, y[b].qs, 32);
      scales[b] = Fp16ToFp32(y[b].d);
      for (int g = 0; g < kGroups; ++g) {
        int32_t sum = 0;
        for (int i = kGroup * g; i < kGroup * (g + 1); ++i) sum += y[b].qs[i];
        corrections[b * kGroups + g] = -128 * sum;
      }
    }
  }
};

// Llama.cpp's order: a correction per group of 4 quants (one per lane).
struct Q8_0Activations : Q8_0PreparedActivations<4> {
  // Block b of T tokens against the 16 rows' quants + 128 (w[l]: quants 4l..4l+3 of each row)
  // and fp32 scales dw: acc[t][l] = fma(dw * da, lane sum, acc[t][l]), as LegacyDot does for
  // each row.
  template <int T>
  [[gnu::always_inline]] static void AccumulateBlock(const TileArgs& a, int64_t b, __m512 dw,
                                                     const __m512i (&w)[8], __m512 (&acc)[T][8]) {
    const int64_t nb = a.n / 32;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const uint8_t* at = a.act + t * a.act_stride;
      const uint8_t* q = at + b * 32;
      const int32_t* corr = reinterpret_cast<const int32_t*>(at + nb * 36) + b * 8;
      const __m512 d =
          _mm512_mul_ps(dw, _mm512_set1_ps(reinterpret_cast<const float*>(at + nb * 32)[b]));
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) {
        const __m512i sum = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[l]), w[l],
                                                _mm512_set1_epi32(Load32(q + l * 4)));
        acc[t][l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sum), acc[t][l]);
      }
    }
  }
};

// How far ahead the one-token pass prefetches a pair strip: about 2 KiB. Farther (8 KiB) was
// 7-11% slower for 1.5B Q8_0 decode (bench/RESULTS.md, third session): each line prefetched
// into L1 holds a miss buffer until it arrives, and too many in flight stall the loads.
constexpr int64_t kPairPrefetchBytes = 2048;

// The tile of a 32-element block type packed in pairs of blocks (64 elements) whose first 64
// bytes are the two blocks' fp16 scales of the 16 rows: Format::Weights(pair, e, w) gives block
// e's quants + 128, w[l] holding quants 4l..4l+3 of each row. LegacyDot of
// cpu_reference_order.h for 16 rows.
template <class Format, int T>
void PackedPairTile(const TileArgs& a) {
  __m512 acc[T][8];
  LoadSums(acc, a, 0);
  for (int64_t p = a.b0; p < a.b1; ++p) {
    const uint8_t* pair = a.strip + p * Format::kBlockBytes;
    PrefetchAhead(a, pair, Format::kBlockBytes, kPairPrefetchBytes / Format::kBlockBytes + 1);
#pragma GCC unroll 2
    for (int e = 0; e < 2; ++e) {
      const __m512 dw =
          _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(pair + 32 * e)));
      __m512i w[8];
      Format::Weights(pair, e, w);
      Q8_0Activations::AccumulateBlock(a, 2 * p + e, dw, w, acc);
    }
  }
  FinishLanes(acc, a);
}

// ---- Row order (the products on weights packed at load, packed_row_order.h) ----
// A row's integer sum runs over a whole (sub-)block before its scale is applied, so the
// activations carry one correction per block or sub-block instead of one per lane.

// Q6_K: per super-block, -32 * the sum of each sub-block of 16 quants (undoes the + 32 of the
// stored weights).
struct Q6KRowActivations : Q8KActivations<16> {
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* k = static_cast<const BlockQ8_K*>(a);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      int32_t* corrections = CopyBlock(k[sb], nsb, sb, static_cast<uint8_t*>(prepared));
      for (int j = 0; j < 16; ++j) corrections[j] = -32 * k[sb].bsums[j];
    }
  }
};

// Row order: one correction per block.
using Q8_0RowActivations = Q8_0PreparedActivations<32>;

// The end of a tile whose sums are one float vector per token (row order): saved for the next
// pass, or stored to the outputs after the last.
template <int T>
[[gnu::always_inline]] inline void FinishRows(const __m512 (&acc)[T][1], const TileArgs& a) {
  if (!a.last) return SaveSums(acc, a, 0);
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(a.y + t * a.y_stride, a.mask, acc[t][0]);
}

// PackedPairTile in row order: per row and block, the exact integer sum of the 32 products (in
// P partial sums: independent dependency chains for small tiles), then
// acc = fma(d_w * d_a, sum, acc).
template <class Format, int T>
void PackedPairRowTile(const TileArgs& a) {
  constexpr int P = T <= 2 ? 2 : 1;
  const int64_t nb = a.n / 32;
  __m512 acc[T][1];
  LoadSums(acc, a, 0);
  for (int64_t p = a.b0; p < a.b1; ++p) {
    const uint8_t* pair = a.strip + p * Format::kBlockBytes;
    PrefetchAhead(a, pair, Format::kBlockBytes, kPairPrefetchBytes / Format::kBlockBytes + 1);
#pragma GCC unroll 2
    for (int e = 0; e < 2; ++e) {
      const int64_t b = 2 * p + e;
      const __m512 dw =
          _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(pair + 32 * e)));
      __m512i w[8];
      Format::Weights(pair, e, w);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = a.act + t * a.act_stride;
        const int8_t* q = reinterpret_cast<const int8_t*>(at) + b * 32;
        const float da = reinterpret_cast<const float*>(at + nb * 32)[b];
        const int32_t corr = reinterpret_cast<const int32_t*>(at + nb * 36)[b];
        __m512i sum[P];
        sum[0] = _mm512_set1_epi32(corr);
#pragma GCC unroll 2
        for (int k = 1; k < P; ++k) sum[k] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int l = 0; l < 8; ++l)
          sum[l % P] = _mm512_dpbusd_epi32(sum[l % P], w[l], _mm512_set1_epi32(Load32(q + 4 * l)));
        const __m512i total = P == 2 ? _mm512_add_epi32(sum[0], sum[P - 1]) : sum[0];
        acc[t][0] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(da)),
                                    _mm512_cvtepi32_ps(total), acc[t][0]);
      }
    }
  }
  FinishRows(acc, a);
}

// The row-order product of a pair-packed format (Format: its layout, Weights and the
// llama.cpp-order tile): same packed bytes, row-order activations and tile.
template <class Format>
struct RowOrderPair : Q8_0RowActivations {
  static constexpr int kTileTokens = 8;  // tokens whose sums stay in registers with the weights
  static constexpr int kStateVectors = 1;
  static constexpr int64_t kBlockElems = Format::kBlockElems;
  static constexpr int64_t kBlockBytes = Format::kBlockBytes;
  template <int T>
  static void Tile(const TileArgs& a) {
    PackedPairRowTile<Format, T>(a);
  }
};

// The packed format of a pair-packed type: its layout, with products in both orders.
template <class Format>
constexpr PackedFormat PairPackedFormat() {
  using Row = RowOrderPair<Format>;
  return {Format::kBlockElems,
          Format::kBlockBytes,
          Format::Pack,
          {Format::PreparedBytes, Format::Prepare, PackedStrips<Format>::Run},
          {Row::PreparedBytes, Row::Prepare, PackedStrips<Row>::Run}};
}

}  // namespace r1d::kernels::strip::avx512::detail
