// AVX-512 (F + BW; VNNI for the 32-element block types) blocked quantized products; see
// quant_gemm.h for the contract. Each output equals the llama.cpp-order dot product of
// cpu_reference_order.cc bit for bit: the same exact integer lane sums per block (lane l of a
// 32-element group holds elements [4l, 4l + 4)), the same single fused multiply-add chain per lane,
// the same pairwise lane sum at the end. Intrinsics only: no inline functions shared with scalar
// translation units. GCC 12's insert/extract/broadcast intrinsics start from an "undefined" vector
// that its own -Wuninitialized then reports inside the header; nothing here reads undefined lanes.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/parity/quant_gemm.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::parity::avx512 {
namespace {

using tensor::BlockQ4_0;
using tensor::BlockQ4_K;
using tensor::BlockQ5_0;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_0;
using tensor::BlockQ8_K;
using tensor::kQK_K;

// Every helper is forced inline and every short loop unrolled: an out-of-line call (with its
// vzeroupper) or an accumulator array left in memory costs more than the arithmetic.
#define R1D_UNROLL _Pragma("GCC unroll 8")

// Tokens whose accumulators stay in registers while one weight block is reused for them.
constexpr int kTokenTile = 4;
// Bytes of prepared activations walked by one pass over a chunk of weight rows: they are
// re-read for every row, so they should stay in L1 (32 KiB on the CPUs this targets). At least
// one token tile is taken whatever the row length.
constexpr int64_t kTokenBlockBytes = 24 << 10;
// Weight rows per chunk: re-read from cache (not memory) for every token block.
constexpr int64_t kRowChunk = 32;

// The pairwise lane sum of the x86 kernels: high half + low half, then (0+2) + (1+3).
[[gnu::always_inline]] inline float HsumLanes(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// (v0 + v2) + (v1 + v3) of a 4-lane vector.
[[gnu::always_inline]] inline float HsumPairs4(__m128 v) {
  __m128 r = _mm_add_ps(v, _mm_movehl_ps(v, v));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

[[gnu::always_inline]] inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

[[gnu::always_inline]] inline __m512i Load512(const void* p) { return _mm512_loadu_si512(p); }
[[gnu::always_inline]] inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
[[gnu::always_inline]] inline __m128i Load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// 32 bytes at lo in the low half, 32 bytes at hi in the high half.
[[gnu::always_inline]] inline __m512i LoadHalves(const int8_t* lo, const int8_t* hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(Load256(lo)), Load256(hi), 1);
}

// The 8 int32 lanes of a 64-element product: the two 32-element groups of a vector added.
[[gnu::always_inline]] inline __m256i FoldHalves(__m512i s) {
  return _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
}

// Runs Kernel<NT>::Run(t, args...) over [0, n_tokens) in tiles of kTokenTile with a
// compile-time tile size, so that each tile's accumulators live in registers.
template <template <int> class Kernel, class... Args>
void ForTokenTiles(int64_t n_tokens, Args... args) {
  int64_t t = 0;
  for (; t + kTokenTile <= n_tokens; t += kTokenTile) Kernel<kTokenTile>::Run(t, args...);
  switch (n_tokens - t) {
    case 3:
      Kernel<3>::Run(t, args...);
      break;
    case 2:
      Kernel<2>::Run(t, args...);
      break;
    case 1:
      Kernel<1>::Run(t, args...);
      break;
    default:
      break;
  }
}

// Asks for the weight bytes a few blocks ahead: decode reads each weight once, straight from
// memory, and the hardware prefetcher restarts at every row tile (the next tile handed out is
// elsewhere).
// (4 KiB ahead measured best for decode of the 1.5B model here: +15% over none; 1 KiB gained
// nothing, 8 KiB no more.)
template <class Block>
[[gnu::always_inline]] inline void PrefetchAhead(const Block* x, int count = 1) {
  constexpr int kAheadBytes = 4096;
  const char* p = reinterpret_cast<const char*>(x) + kAheadBytes;
  for (size_t off = 0; off < count * sizeof(Block); off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// Int16 shuffle control: every 16-bit lane of the low 256 bits picks int16 lane i of its
// 128-bit source lane, of the high 256 bits lane j.
[[gnu::always_inline]] inline __m512i PickInt16Halves(int i, int j) {
  const auto pick = [](int k) { return static_cast<int16_t>(((2 * k + 1) << 8) | (2 * k)); };
  return _mm512_inserti64x4(_mm512_set1_epi16(pick(i)), _mm256_set1_epi16(pick(j)), 1);
}

// Int16 shuffle control: 128-bit lane L picks int16 lane first + L of its source lane.
[[gnu::always_inline]] inline __m512i PickInt16PerLane(int first) {
  const auto pick2 = [](int k) {
    const uint32_t one = static_cast<uint32_t>(((2 * k + 1) << 8) | (2 * k));
    return static_cast<int>(one | (one << 16));
  };
  const int l0 = pick2(first), l1 = pick2(first + 1), l2 = pick2(first + 2), l3 = pick2(first + 3);
  return _mm512_set_epi32(l3, l3, l3, l3, l2, l2, l2, l2, l1, l1, l1, l1, l0, l0, l0, l0);
}

// ---- Q4_K ----
// A super-block: 8 groups of 32 4-bit quants; group g has scale sc[g] and min mn[g] (6 bits).
// qs[32j + l] holds element 64j + l (low nibble) and 64j + 32 + l (high nibble), so one 64-byte
// load gives groups (0, 2) in its low nibbles and (1, 3) in its high ones.
constexpr int kQ4KGroupLo[4] = {0, 1, 4, 5};
constexpr int kQ4KGroupHi[4] = {2, 3, 6, 7};

// A Q8_K activation block rearranged once per product for Q4_K weights: the quants in the
// group pairs above, the sums of each 32-element group (for the mins) and the scale.
struct alignas(64) Q4KAct {
  int8_t qs[kQK_K];
  int16_t group_sums[8];
  float d;
};

void PrepareQ4K(const BlockQ8_K& y, Q4KAct& out) {
  for (int k = 0; k < 4; ++k) {
    __builtin_memcpy(out.qs + 64 * k, y.qs + 32 * kQ4KGroupLo[k], 32);
    __builtin_memcpy(out.qs + 64 * k + 32, y.qs + 32 * kQ4KGroupHi[k], 32);
  }
  for (int g = 0; g < 8; ++g) {
    out.group_sums[g] = static_cast<int16_t>(y.bsums[2 * g] + y.bsums[2 * g + 1]);
  }
  out.d = y.d;
}

struct Q4KBlock {
  __m512i q[4];      // group pairs as in Q4KAct: one byte per element
  __m512i scale[4];  // int16 scales matching q's halves
  __m128i mins;      // int16 mn[0..7]
};

// Q4_K and Q5_K blocks share the scales, the mins and the nibble layout.
template <class KBlock>
[[gnu::always_inline]] inline void UnpackQ4K(const KBlock& x, Q4KBlock& u) {
  uint32_t s0, s1, s2;
  __builtin_memcpy(&s0, x.scales, 4);
  __builtin_memcpy(&s1, x.scales + 4, 4);
  __builtin_memcpy(&s2, x.scales + 8, 4);
  // Groups 0-3 keep the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); groups 4-7 take 4 bits
  // from bytes 8-11 and their top 2 bits from the spare bits 6-7 of bytes 0-3 / 4-7.
  const uint64_t sc = (s0 & 0x3f3f3f3fu) |
                      static_cast<uint64_t>((s2 & 0x0f0f0f0fu) | ((s0 >> 2) & 0x30303030u)) << 32;
  const uint64_t mn = (s1 & 0x3f3f3f3fu) |
                      static_cast<uint64_t>(((s2 >> 4) & 0x0f0f0f0fu) | ((s1 >> 2) & 0x30303030u))
                          << 32;
  const __m512i sc16 =
      _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc))));
  u.mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(mn)));
  const __m512i low = _mm512_set1_epi8(0xF);
  const __m512i q01 = Load512(x.qs), q23 = Load512(x.qs + 64);
  u.q[0] = _mm512_and_si512(q01, low);
  u.q[1] = _mm512_and_si512(_mm512_srli_epi16(q01, 4), low);
  u.q[2] = _mm512_and_si512(q23, low);
  u.q[3] = _mm512_and_si512(_mm512_srli_epi16(q23, 4), low);
  R1D_UNROLL
  for (int k = 0; k < 4; ++k) {
    u.scale[k] = _mm512_shuffle_epi8(sc16, PickInt16Halves(kQ4KGroupLo[k], kQ4KGroupHi[k]));
  }
}

// Q5_K: qh[l] bit 2j is the fifth bit of element 64j + l (group 2j), bit 2j + 1 that of
// element 64j + 32 + l (group 2j + 1). q[k] holds groups kQ4KGroupLo[k] (bytes 0-31) and
// kQ4KGroupHi[k] (bytes 32-63): each byte takes 16 where its group's bit is set.
[[gnu::always_inline]] inline void AddFifthBits(const uint8_t* qh, Q4KBlock& u) {
  const __m512i bits =
      _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)));
  R1D_UNROLL
  for (int k = 0; k < 4; ++k) {
    const __m512i select =
        _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << kQ4KGroupLo[k])),
                           _mm256_set1_epi8(static_cast<char>(1 << kQ4KGroupHi[k])), 1);
    const __mmask64 set = _mm512_test_epi8_mask(bits, select);
    u.q[k] = _mm512_mask_add_epi8(u.q[k], set, u.q[k], _mm512_set1_epi8(16));  // nibble | 16
  }
}

// Q4_K (kFifthBit false) and Q5_K, as KDotWithMins of cpu_reference_order.cc: the same lane
// sums; the mins in 4 float lanes for Q4_K, in one scalar sum (its 4 lanes added as integers)
// for Q5_K.
template <bool kFifthBit, int NT>
struct KMinsTile {
  using Block = std::conditional_t<kFifthBit, BlockQ5_K, BlockQ4_K>;
  static void Run(int64_t t0, int64_t nb, const Block* x, const Q4KAct* act, float* y,
                  int64_t y_stride, bool prefetch) {
    __m256 acc[NT];
    __m128 acc_m[NT];  // Q5_K: its scalar sum in lane 0
    R1D_UNROLL
    for (int t = 0; t < NT; ++t) {
      acc[t] = _mm256_setzero_ps();
      acc_m[t] = _mm_setzero_ps();
    }
    Q4KBlock u;
    for (int64_t b = 0; b < nb; ++b) {
      if (prefetch) PrefetchAhead(x + b);
      UnpackQ4K(x[b], u);
      if constexpr (kFifthBit) AddFifthBits(x[b].qh, u);
      const float xd = HalfToFloat(x[b].d);
      const float xdmin = HalfToFloat(x[b].dmin);
      R1D_UNROLL
      for (int t = 0; t < NT; ++t) {
        const Q4KAct& yb = act[(t0 + t) * nb + b];
        __m512i s = _mm512_madd_epi16(_mm512_maddubs_epi16(u.q[0], Load512(yb.qs)), u.scale[0]);
        R1D_UNROLL
        for (int k = 1; k < 4; ++k) {
          const __m512i yv = Load512(yb.qs + 64 * k);
          s = _mm512_add_epi32(s, _mm512_madd_epi16(_mm512_maddubs_epi16(u.q[k], yv), u.scale[k]));
        }
        const float d = yb.d * xd;
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(FoldHalves(s)), acc[t]);
        // Min lane k: mn[2k] * (sum of group 2k) + mn[2k+1] * (sum of group 2k+1).
        const __m128i m4 = _mm_madd_epi16(u.mins, Load128(yb.group_sums));
        const float dmin = -yb.d * xdmin;
        if constexpr (kFifthBit) {
          const __m128i m2 = _mm_add_epi32(m4, _mm_unpackhi_epi64(m4, m4));
          const int32_t m = _mm_cvtsi128_si32(_mm_add_epi32(m2, _mm_srli_epi64(m2, 32)));
          acc_m[t] = _mm_fmadd_ss(_mm_set_ss(dmin), _mm_cvtsi32_ss(_mm_setzero_ps(), m), acc_m[t]);
        } else {
          acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(m4), acc_m[t]);
        }
      }
    }
    R1D_UNROLL
    for (int t = 0; t < NT; ++t) {
      y[(t0 + t) * y_stride] =
          HsumLanes(acc[t]) + (kFifthBit ? _mm_cvtss_f32(acc_m[t]) : HsumPairs4(acc_m[t]));
    }
  }
};
template <int NT>
using Q4KTile = KMinsTile<false, NT>;
template <int NT>
using Q5KTile = KMinsTile<true, NT>;

// ---- Q6_K ----
// A super-block: 16 sub-blocks of 16 6-bit quants (stored + 32) with int8 scales. In each half h
// (128 elements), ql[64h + l] holds elements l (low nibble) and 64 + l (high nibble) for
// l < 64, and qh[32h + l] the top 2 bits of elements l, 32 + l, 64 + l, 96 + l.
// Activations for Q6_K weights: the quants plus 128 as unsigned bytes (y + 128 in 1..255), so
// that the weights can be the signed multiplicand, q - 32 in -32..31: maddubs then needs no
// sign fix-up per token, and the 128 * (q - 32) it adds is a property of the weight block,
// subtracted once per block for all tokens.
struct alignas(64) Q6KAct {
  uint8_t qs[kQK_K];
  float d;
};

void PrepareQ6K(const BlockQ8_K& y, Q6KAct& out) {
  for (int i = 0; i < kQK_K; ++i) out.qs[i] = static_cast<uint8_t>(y.qs[i] + 128);
  out.d = y.d;
}

struct Q6KBlock {
  __m512i q[4];      // 64-element chunks 0-3, one signed byte (q - 32) per element
  __m512i scale[4];  // int16: each 128-bit lane the scale of one 16-element sub-block
  __m512i offset;    // int32 lanes: what the + 128 of the activations adds to each lane
};

[[gnu::always_inline]] inline void UnpackQ6K(const BlockQ6_K& x, Q6KBlock& u) {
  const __m256i sc16 = _mm256_cvtepi8_epi16(Load128(x.scales));
  const __m512i first8 = _mm512_broadcast_i32x4(_mm256_castsi256_si128(sc16));
  const __m512i last8 = _mm512_broadcast_i32x4(_mm256_extracti128_si256(sc16, 1));
  // Chunk c covers sub-blocks 4c .. 4c + 3, one per 128-bit lane.
  u.scale[0] = _mm512_shuffle_epi8(first8, PickInt16PerLane(0));
  u.scale[1] = _mm512_shuffle_epi8(first8, PickInt16PerLane(4));
  u.scale[2] = _mm512_shuffle_epi8(last8, PickInt16PerLane(0));
  u.scale[3] = _mm512_shuffle_epi8(last8, PickInt16PerLane(4));
  const __m512i low = _mm512_set1_epi8(0xF);
  const __m512i top = _mm512_set1_epi8(0x30);
  const __m512i k32 = _mm512_set1_epi8(32);
  // Shift counts (16-bit lanes) that bring bits (0-1 | 2-3) and (4-5 | 6-7) of qh to bits 4-5.
  const __m512i left = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i right = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  R1D_UNROLL
  for (int h = 0; h < 2; ++h) {
    const __m512i ql = Load512(x.ql + 64 * h);
    const __m512i qh = _mm512_broadcast_i64x4(Load256(x.qh + 32 * h));
    const __m512i q_lo = _mm512_or_si512(_mm512_and_si512(ql, low),
                                         _mm512_and_si512(_mm512_sllv_epi16(qh, left), top));
    const __m512i q_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low),
                                         _mm512_and_si512(_mm512_srlv_epi16(qh, right), top));
    u.q[2 * h] = _mm512_sub_epi8(q_lo, k32);
    u.q[2 * h + 1] = _mm512_sub_epi8(q_hi, k32);
  }
  const __m512i k128 = _mm512_set1_epi8(static_cast<char>(0x80));
  u.offset = _mm512_madd_epi16(_mm512_maddubs_epi16(k128, u.q[0]), u.scale[0]);
  R1D_UNROLL
  for (int c = 1; c < 4; ++c) {
    u.offset = _mm512_add_epi32(u.offset,
                                _mm512_madd_epi16(_mm512_maddubs_epi16(k128, u.q[c]), u.scale[c]));
  }
}

template <int NT>
struct Q6KTile {
  static void Run(int64_t t0, int64_t nb, const BlockQ6_K* x, const Q6KAct* act, float* y,
                  int64_t y_stride, bool prefetch) {
    __m256 acc[NT];
    R1D_UNROLL
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    Q6KBlock u;
    for (int64_t b = 0; b < nb; ++b) {
      if (prefetch) PrefetchAhead(x + b);
      UnpackQ6K(x[b], u);
      const float xd = HalfToFloat(x[b].d);
      R1D_UNROLL
      for (int t = 0; t < NT; ++t) {
        const Q6KAct& yb = act[(t0 + t) * nb + b];
        // (y + 128)(q - 32) per pair: at most 255 * 32 * 2, exact in int16.
        __m512i s = _mm512_sub_epi32(
            _mm512_madd_epi16(_mm512_maddubs_epi16(Load512(yb.qs), u.q[0]), u.scale[0]), u.offset);
        R1D_UNROLL
        for (int c = 1; c < 4; ++c) {
          const __m512i pairs = _mm512_maddubs_epi16(Load512(yb.qs + 64 * c), u.q[c]);
          s = _mm512_add_epi32(s, _mm512_madd_epi16(pairs, u.scale[c]));
        }
        const float d = yb.d * xd;
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(FoldHalves(s)), acc[t]);
      }
    }
    R1D_UNROLL
    for (int t = 0; t < NT; ++t) y[(t0 + t) * y_stride] = HsumLanes(acc[t]);
  }
};

// ---- Q8_0, Q5_0, Q4_0 (need AVX512_VNNI) ----
// Two 32-element blocks per vector: the integer lanes of block b in the low half, of b + 1 in
// the high half; the two fused multiply-adds stay in block order.

// Two Q8_0 activation blocks as unsigned bytes y + 128 (vpdpbusd multiplies unsigned by
// signed bytes into exact int32 sums of 4), scales already in float. An odd last block leaves
// the second half zero (and unused).
struct alignas(64) Q8_0Act {
  uint8_t qs[64];
  float d[2];
};

void PrepareQ8_0Pairs(const BlockQ8_0* y, int64_t nb, Q8_0Act* out) {
  for (int64_t p = 0; p < (nb + 1) / 2; ++p) {
    Q8_0Act& o = out[p];
    __builtin_memset(&o, 0, sizeof(o));
    for (int h = 0; h < 2 && 2 * p + h < nb; ++h) {
      for (int i = 0; i < 32; ++i)
        o.qs[32 * h + i] = static_cast<uint8_t>(y[2 * p + h].qs[i] + 128);
      o.d[h] = HalfToFloat(y[2 * p + h].d);
    }
  }
}

// Signed weight bytes of two consecutive 32-element blocks (low half: the first), per type.
// Single() is the last block of an odd row: only the low half is used, nothing past the row
// is read.
struct Q8_0Weights {
  using Block = BlockQ8_0;
  static __m512i Pair(const Block* x) { return LoadHalves(x[0].qs, x[1].qs); }
  static __m512i Single(const Block* x) { return _mm512_zextsi256_si512(Load256(x[0].qs)); }
};

// Q4_0 / Q5_0: 16 bytes of nibbles per block (elements 0-15 low, 16-31 high).
[[gnu::always_inline]] inline __m512i NibblePairs(const uint8_t* qs0, const uint8_t* qs1) {
  const __m256i both =
      _mm256_inserti128_si256(_mm256_castsi128_si256(Load128(qs0)), Load128(qs1), 1);
  // 128-bit lanes [qs0, qs1, qs0 >> 4, qs1 >> 4] reordered to [qs0, qs0 >> 4, qs1, qs1 >> 4].
  const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(both), _mm256_srli_epi16(both, 4), 1);
  return _mm512_and_si512(_mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0)),
                          _mm512_set1_epi8(0xF));
}

struct Q4_0Weights {
  using Block = BlockQ4_0;
  static __m512i Decode(const Block& a, const Block& b) {
    return _mm512_sub_epi8(NibblePairs(a.qs, b.qs), _mm512_set1_epi8(8));
  }
  static __m512i Pair(const Block* x) { return Decode(x[0], x[1]); }
  static __m512i Single(const Block* x) { return Decode(x[0], x[0]); }
};

struct Q5_0Weights {
  using Block = BlockQ5_0;
  static __m512i Decode(const Block& a, const Block& b) {
    uint32_t ha, hb;
    __builtin_memcpy(&ha, a.qh, 4);
    __builtin_memcpy(&hb, b.qh, 4);
    // Bit e of qh is the fifth bit of element e: one mask bit per byte of the pair.
    const __m512i fifth = _mm512_maskz_mov_epi8(
        static_cast<__mmask64>(ha) | (static_cast<__mmask64>(hb) << 32), _mm512_set1_epi8(16));
    return _mm512_sub_epi8(_mm512_or_si512(NibblePairs(a.qs, b.qs), fifth), _mm512_set1_epi8(16));
  }
  static __m512i Pair(const Block* x) { return Decode(x[0], x[1]); }
  static __m512i Single(const Block* x) { return Decode(x[0], x[0]); }
};

// Any type of 32-element blocks with one fp16 scale `d` against Q8_0 activations.
template <class Weights>
struct LegacyTile {
  template <int NT>
  struct Kernel {
    static void Run(int64_t t0, int64_t nb, const typename Weights::Block* x, const Q8_0Act* act,
                    float* y, int64_t y_stride, bool prefetch) {
      const int64_t np = (nb + 1) / 2;
      __m256 acc[NT];
      R1D_UNROLL
      for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
      const __m512i k128 = _mm512_set1_epi8(static_cast<char>(0x80));
      for (int64_t p = 0; p < np; ++p) {
        const int64_t b = 2 * p;
        const bool pair = b + 1 < nb;
        if (prefetch) PrefetchAhead(x + b, 2);
        const __m512i xq = pair ? Weights::Pair(x + b) : Weights::Single(x + b);
        // Lane sums start at -128 * (sum of the lane's 4 weights), cancelling the + 128.
        const __m512i start = _mm512_sub_epi32(
            _mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), k128, xq));
        const float xd0 = HalfToFloat(x[b].d);
        const float xd1 = pair ? HalfToFloat(x[b + 1].d) : 0.0f;
        R1D_UNROLL
        for (int t = 0; t < NT; ++t) {
          const Q8_0Act& yb = act[(t0 + t) * np + p];
          const __m512i s = _mm512_dpbusd_epi32(start, Load512(yb.qs), xq);
          const __m256 lo = _mm256_cvtepi32_ps(_mm512_castsi512_si256(s));
          acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(xd0 * yb.d[0]), lo, acc[t]);
          if (pair) {
            const __m256 hi = _mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(s, 1));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(xd1 * yb.d[1]), hi, acc[t]);
          }
        }
      }
      R1D_UNROLL
      for (int t = 0; t < NT; ++t) y[(t0 + t) * y_stride] = HsumLanes(acc[t]);
    }
  };
};

// Row chunks x token blocks x token tiles over prepared activations.
template <class WBlock, class Act, template <int> class Tile>
void Run(int64_t nb, int64_t acts_per_row, const void* w, int64_t w_row_bytes, int64_t rows,
         const void* prepared, int64_t n_tokens, float* y, int64_t y_stride) {
  const auto* acts = static_cast<const Act*>(prepared);
  const auto* wbytes = static_cast<const uint8_t*>(w);
  const int64_t act_bytes = acts_per_row * static_cast<int64_t>(sizeof(Act));
  // Decode-sized products (up to 16 sequences) stream their weights from memory about once;
  // prefill re-reads each row from cache for many token blocks, where prefetching only evicted
  // useful lines (pp512 lost ~20%; 16-sequence decode gained ~15%).
  const bool prefetch = n_tokens <= 16;
  const int64_t token_block =
      std::max<int64_t>(kTokenTile, kTokenBlockBytes / act_bytes / kTokenTile * kTokenTile);
  for (int64_t r0 = 0; r0 < rows; r0 += kRowChunk) {
    const int64_t r1 = std::min(rows, r0 + kRowChunk);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += token_block) {
      const int64_t t1 = std::min(n_tokens, t0 + token_block);
      for (int64_t r = r0; r < r1; ++r) {
        const auto* x = reinterpret_cast<const WBlock*>(wbytes + r * w_row_bytes);
        ForTokenTiles<Tile>(t1 - t0, nb, x, acts + t0 * acts_per_row, y + t0 * y_stride + r,
                            y_stride, prefetch);
      }
    }
  }
}

// The QuantGemm entry points of a 256-element (K-quant) type whose activations are Q8_K blocks,
// each rearranged by PrepareBlock.
template <class WBlock, class Act, template <int> class Tile,
          void (*PrepareBlock)(const BlockQ8_K&, Act&)>
struct KQuantGemm {
  static int64_t PreparedBytes(int64_t n) { return n / kQK_K * static_cast<int64_t>(sizeof(Act)); }
  static void Prepare(int64_t n, const void* a, void* prepared) {
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      PrepareBlock(static_cast<const BlockQ8_K*>(a)[b], static_cast<Act*>(prepared)[b]);
    }
  }
  static void Product(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows,
                      const void* prepared, int64_t n_tokens, float* y, int64_t y_stride) {
    Run<WBlock, Act, Tile>(n / kQK_K, n / kQK_K, w, w_row_bytes, rows, prepared, n_tokens, y,
                           y_stride);
  }
};
using Q4KGemm = KQuantGemm<BlockQ4_K, Q4KAct, Q4KTile, PrepareQ4K>;
using Q5KGemm = KQuantGemm<BlockQ5_K, Q4KAct, Q5KTile, PrepareQ4K>;
using Q6KGemm = KQuantGemm<BlockQ6_K, Q6KAct, Q6KTile, PrepareQ6K>;

int64_t LegacyPreparedBytes(int64_t n) {
  return (n / 32 + 1) / 2 * static_cast<int64_t>(sizeof(Q8_0Act));
}
void LegacyPrepare(int64_t n, const void* a, void* prepared) {
  PrepareQ8_0Pairs(static_cast<const BlockQ8_0*>(a), n / 32, static_cast<Q8_0Act*>(prepared));
}
template <class Weights>
void LegacyRun(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
               int64_t n_tokens, float* y, int64_t y_stride) {
  Run<typename Weights::Block, Q8_0Act, LegacyTile<Weights>::template Kernel>(
      n / 32, (n / 32 + 1) / 2, w, w_row_bytes, rows, prepared, n_tokens, y, y_stride);
}

}  // namespace

const QuantGemm kGemmQ4_K = {Q4KGemm::PreparedBytes, Q4KGemm::Prepare, Q4KGemm::Product};
const QuantGemm kGemmQ5_K = {Q5KGemm::PreparedBytes, Q5KGemm::Prepare, Q5KGemm::Product};
const QuantGemm kGemmQ6_K = {Q6KGemm::PreparedBytes, Q6KGemm::Prepare, Q6KGemm::Product};
const QuantGemm kGemmQ8_0 = {LegacyPreparedBytes, LegacyPrepare, LegacyRun<Q8_0Weights>};
const QuantGemm kGemmQ5_0 = {LegacyPreparedBytes, LegacyPrepare, LegacyRun<Q5_0Weights>};
const QuantGemm kGemmQ4_0 = {LegacyPreparedBytes, LegacyPrepare, LegacyRun<Q4_0Weights>};

}  // namespace r1d::kernels::parity::avx512
