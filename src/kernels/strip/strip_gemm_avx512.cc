// Strip products (strip_gemm.h) with AVX-512 F + BW + VNNI.
//
// Shared shape: weights are the unsigned operand of vpdpbusd (Q4_K and Q6_K quants are
// unsigned already; Q8_0 quants are stored as q + 128 and a per-block correction of
// -128 * sum(activation quants) starts the sum), activations the signed, broadcast operand.
// One 64-byte vector of a strip holds 4 consecutive quants of each of the 16 rows.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own set1/mask intrinsics as
// uninitialized (a false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "core/fp16.h"
#include "kernels/strip/strip_gemm.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip::avx512 {
namespace {

using tensor::BlockQ4_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_0;
using tensor::BlockQ8_K;

constexpr int kRows = 16;  // weight rows per strip (one per 32-bit lane)

int64_t RoundUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// Strip bytes run per pass over the tokens (below L1's 48 KiB, leaving room for activations).
constexpr int64_t kPassBytes = 32 * 1024;

// The calling thread's buffer of saved float sums between passes, 64-byte aligned.
float* StateBuffer(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(floats + 16)) buffer.resize(floats + 16);
  const uintptr_t base = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - base % 64) % 64) / sizeof(float);
}

// The calling thread's strip buffer, 64-byte aligned.
uint8_t* StripBuffer(int64_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < static_cast<size_t>(bytes + 64)) buffer.resize(bytes + 64);
  const uintptr_t base = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - base % 64) % 64);
}

int32_t Load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 16 weight rows of a strip, for the packing code; rows past the matrix's end read a
// zero row (zero scales, so their outputs are zero and never stored).
struct StripRows {
  const uint8_t* row[kRows];
};

// Reads one byte of every cache line of the strip's rows (contiguous in memory) in address
// order before packing them: a plain sequential stream that the hardware prefetchers follow
// and whose misses overlap, where the packing itself walks 16 rows at once.
void TouchRows(const uint8_t* w, int64_t bytes) {
  uint8_t sink = 0;
  for (int64_t at = 0; at < bytes; at += 64) sink ^= *static_cast<const volatile uint8_t*>(w + at);
  asm volatile("" : : "r"(sink));
}

StripRows MakeStripRows(const uint8_t* w, int64_t w_row_bytes, int rows) {
  TouchRows(w, rows * w_row_bytes);
  thread_local std::vector<uint8_t> zeros;
  if (rows < kRows && zeros.size() < static_cast<size_t>(w_row_bytes)) {
    zeros.assign(static_cast<size_t>(w_row_bytes), 0);
  }
  StripRows s;
  for (int r = 0; r < kRows; ++r) s.row[r] = r < rows ? w + r * w_row_bytes : zeros.data();
  return s;
}

// The dword at byte `offset` of each row (0 for rows past the end). Plain loads rather than
// a gather: this is often the first touch of a block's cache lines, and separate loads let the
// misses of the 16 rows overlap.
__m512i GatherDword(const StripRows& s, int64_t offset) {
  alignas(64) int32_t v[kRows];
  for (int r = 0; r < kRows; ++r) std::memcpy(&v[r], s.row[r] + offset, 4);
  return _mm512_load_si512(v);
}

// 32 bytes at `offset` of rows r (low half) and r + 8 (high half).
__m512i LoadRowPair(const StripRows& s, int r, int64_t offset) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.row[r] + offset));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.row[r + 8] + offset));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// z[r] holds dwords 0..7 of rows r and r + 8 (LoadRowPair); afterwards z[l] holds dword l of
// rows 0..15, one per lane: the strip's layout. An 8 x 8 transpose in each 256-bit half.
void TransposeRowPairs(__m512i (&z)[8]) {
  __m512i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(z[2 * i], z[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(z[2 * i], z[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // u[i] (i < 4) holds dwords i and i + 4 of rows 0-3 (and 8-11); u[4 + i] the same of rows
  // 4-7 (and 12-15). Join the 128-bit lanes.
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i second = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (int i = 0; i < 4; ++i) {
    z[i] = _mm512_permutex2var_epi64(u[i], first, u[4 + i]);
    z[i + 4] = _mm512_permutex2var_epi64(u[i], second, u[4 + i]);
  }
}

void StoreVectors(const __m512i (&z)[8], uint8_t* dst) {
  for (int l = 0; l < 8; ++l) _mm512_store_si512(dst + l * 64, z[l]);
}

// Four fp16 scales (the low or high halves of gathered dwords) as fp32.
__m512 HalvesToFloat(__m512i dwords, bool high) {
  if (high) dwords = _mm512_srli_epi32(dwords, 16);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dwords));
}

// One call of a format's tile: T tokens against blocks [b0, b1) of a packed strip. A strip
// larger than L1 is run in passes over chunks of its blocks (every token per chunk), so the
// float sums of a token are saved in `state` between passes and folded only after the last.
struct TileArgs {
  int64_t n;       // elements per row
  int64_t b0, b1;  // blocks (super-blocks) of this pass
  const uint8_t* strip;
  const uint8_t* act;  // prepared activations of the tile's first token
  int64_t act_stride;
  float* state;  // the first token's saved sums; a token's are state_stride floats further
  int64_t state_stride;
  bool first, last;  // first pass: sums start at zero; last pass: fold and store to y
  float* y;          // the first token's 16 outputs; a token's are y_stride floats further
  int64_t y_stride;
  __mmask16 mask;
};

template <int T, int V>
void LoadSums(__m512 (&acc)[T][V], const TileArgs& a, int at) {
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) {
      acc[t][v] = a.first ? _mm512_setzero_ps()
                          : _mm512_load_ps(a.state + t * a.state_stride + (at + v) * 16);
    }
  }
}

template <int T, int V>
void SaveSums(const __m512 (&acc)[T][V], const TileArgs& a, int at) {
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v)
      _mm512_store_ps(a.state + t * a.state_stride + (at + v) * 16, acc[t][v]);
  }
}

// ---- Q8_0 weights x Q8_0 activations ----

// Hsum8 of cpu_reference_order.h, lane by lane: the 8 accumulators of group l fold as
// ((a4 + a0) + (a6 + a2)) + ((a5 + a1) + (a7 + a3)).
__m512 FoldLanes(const __m512* acc) {
  const __m512 r0 = _mm512_add_ps(acc[4], acc[0]);
  const __m512 r1 = _mm512_add_ps(acc[5], acc[1]);
  const __m512 r2 = _mm512_add_ps(acc[6], acc[2]);
  const __m512 r3 = _mm512_add_ps(acc[7], acc[3]);
  return _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
}

struct Q8_0 {
  using Block = BlockQ8_0;
  static constexpr int kTileTokens = 2;  // tokens whose lane sums stay in registers together
  static constexpr int64_t kBlockElems = 32;
  static constexpr int kStateVectors = 8;  // float sums per token kept between passes
  // Strip block: fp32 scales of the 16 rows, then 8 vectors of quants + 128.
  static constexpr int64_t kBlockBytes = 64 + 8 * 64;

  static int64_t StripBytes(int64_t n) { return n / 32 * kBlockBytes; }

  // The 32 quants + 128 of the Q8_0 block at `block`.
  static __m256i Quants(const uint8_t* block) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
    return _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
  }

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    PackBlocks<Q8_0>(n, w, w_row_bytes, rows, strip);
  }

  // Any type of 32-element blocks that start with their fp16 scale, given Format::Quants.
  template <class Format>
  static void PackBlocks(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows,
                         uint8_t* strip) {
    const StripRows s = MakeStripRows(w, w_row_bytes, rows);
    for (int64_t b = 0; b < n / 32; ++b) {
      const int64_t at = b * static_cast<int64_t>(sizeof(typename Format::Block));
      uint8_t* out = strip + b * kBlockBytes;
      _mm512_store_ps(out, HalvesToFloat(GatherDword(s, at), false));
      __m512i z[8];
      for (int r = 0; r < 8; ++r) {
        z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(Format::Quants(s.row[r] + at)),
                                  Format::Quants(s.row[r + 8] + at), 1);
      }
      TransposeRowPairs(z);
      StoreVectors(z, out + 64);
    }
  }

  // Prepared activations: all quants; per block the fp32 scale; per block and group of 4
  // quants, -128 * their sum (undoes the + 128 of the weights in that group's lane).
  static int64_t PreparedBytes(int64_t n) { return RoundUp64(n / 32 * (32 + 4 + 32)); }

  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nb = n / 32;
    const auto* y = static_cast<const BlockQ8_0*>(a);
    auto* quants = static_cast<int8_t*>(prepared);
    auto* scales = reinterpret_cast<float*>(quants + nb * 32);
    auto* corrections = reinterpret_cast<int32_t*>(scales + nb);
    for (int64_t b = 0; b < nb; ++b) {
      std::memcpy(quants + b * 32, y[b].qs, 32);
      scales[b] = Fp16ToFp32(y[b].d);
      for (int l = 0; l < 8; ++l) {
        int32_t sum = 0;
        for (int i = 4 * l; i < 4 * l + 4; ++i) sum += y[b].qs[i];
        corrections[b * 8 + l] = -128 * sum;
      }
    }
  }

  // Per block and lane l (quants 4l..4l+3): acc[l] = fma(dw * da, lane sum, acc[l]), as
  // LegacyDot does for each row.
  template <int T>
  static void Tile(const TileArgs& a) {
    const int64_t n = a.n, act_stride = a.act_stride;
    const uint8_t *strip = a.strip, *act = a.act;
    const int64_t nb = n / 32;
    __m512 acc[T][8];
    LoadSums(acc, a, 0);
    for (int64_t b = a.b0; b < a.b1; ++b) {
      const uint8_t* blk = strip + b * kBlockBytes;
      const __m512 dw = _mm512_load_ps(blk);
      __m512i w[8];
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) w[l] = _mm512_load_si512(blk + 64 + l * 64);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = act + t * act_stride;
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
    if (!a.last) return SaveSums(acc, a, 0);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      _mm512_mask_storeu_ps(a.y + t * a.y_stride, a.mask, FoldLanes(acc[t]));
    }
  }
};

// Q5_0 and Q4_0 against Q8_0 activations: the same lanes as Q8_0 (LegacyDot), so the same
// prepared activations, strip layout and tile; only the unpacking to quants + 128 differs.

// The 16 low nibbles then the 16 high nibbles of `qs` as 32 bytes.
__m256i Nibbles(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i low4 = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm_and_si128(q, low4));
}

struct Q5_0 : Q8_0 {
  using Block = tensor::BlockQ5_0;
  // (nibble | high bit << 4) - 16 + 128; bit e of qh is element e's high bit.
  static __m256i Quants(const uint8_t* block) {
    const auto* blk = reinterpret_cast<const Block*>(block);
    const __m256i high = _mm256_and_si256(_mm256_movm_epi8(static_cast<__mmask32>(Load32(blk->qh))),
                                          _mm256_set1_epi8(0x10));
    return _mm256_add_epi8(_mm256_or_si256(Nibbles(blk->qs), high), _mm256_set1_epi8(112));
  }
  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    PackBlocks<Q5_0>(n, w, w_row_bytes, rows, strip);
  }
};

struct Q4_0 : Q8_0 {
  using Block = tensor::BlockQ4_0;
  // nibble - 8 + 128.
  static __m256i Quants(const uint8_t* block) {
    return _mm256_add_epi8(Nibbles(reinterpret_cast<const Block*>(block)->qs),
                           _mm256_set1_epi8(120));
  }
  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    PackBlocks<Q4_0>(n, w, w_row_bytes, rows, strip);
  }
};

// ---- Q4_K and Q6_K weights x Q8_K activations ----

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

struct Q4_K : Q8KActivations<4> {
  static constexpr int kTileTokens = 1;  // 8 lane sums of 2 tokens would spill (GCC 12)
  static constexpr int64_t kBlockElems = 256;
  static constexpr int kStateVectors = 12;  // 8 lanes + 4 min lanes
  // Strip super-block: fp32 d and dmin of the 16 rows; the 8 sub-block scales (low-half
  // vectors); the 8 mins as 4 vectors of int16 pairs; then 8 sub-blocks x 8 vectors of quants.
  static constexpr int64_t kScalesAt = 128;
  static constexpr int64_t kMinsAt = kScalesAt + 8 * 64;
  static constexpr int64_t kQuantsAt = kMinsAt + 4 * 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 64 * 64;

  static int64_t StripBytes(int64_t n) { return n / 256 * kBlockBytes; }

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
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) lanes[t][l] = _mm512_setzero_si512();
      }
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
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          acc[t][l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lanes[t][l]), acc[t][l]);
        }
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

struct Q6_K : Q8KActivations<64> {
  static constexpr int kTileTokens = 1;
  static constexpr int64_t kBlockElems = 256;
  static constexpr int kStateVectors = 8;
  // Strip super-block: fp32 d of the 16 rows; the 16 sub-block scales (low-half vectors); then
  // 8 chunks of 32 x 8 vectors of quants (0..63, the stored value + 32).
  static constexpr int64_t kScalesAt = 64;
  static constexpr int64_t kQuantsAt = kScalesAt + 16 * 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 64 * 64;

  static int64_t StripBytes(int64_t n) { return n / 256 * kBlockBytes; }

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

  // Extra dwords: per group of 4 quants, -32 * their sum (undoes the + 32 of the weights in
  // that lane, so each lane sum is exact and within 16 bits before its scale).
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* y = static_cast<const BlockQ8_K*>(a);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      int32_t* corrections = CopyBlock(y[sb], nsb, sb, static_cast<uint8_t*>(prepared));
      for (int g = 0; g < 64; ++g) {
        int32_t sum = 0;
        for (int i = 4 * g; i < 4 * g + 4; ++i) sum += y[sb].qs[i];
        corrections[g] = -32 * sum;
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
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) lanes[t][l] = _mm512_setzero_si512();
      }
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
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          acc[t][l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lanes[t][l]), acc[t][l]);
        }
      }
    }
    if (!a.last) return SaveSums(acc, a, 0);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      _mm512_mask_storeu_ps(a.y + t * a.y_stride, a.mask, FoldLanes(acc[t]));
    }
  }
};

// ---- driver ----

template <class Format>
struct Strip {
  using TileFn = void (*)(const TileArgs&);

  template <size_t... I>
  static constexpr auto MakeTiles(std::index_sequence<I...>) {
    return std::array<TileFn, sizeof...(I)>{&Format::template Tile<static_cast<int>(I) + 1>...};
  }
  static constexpr auto kTiles = MakeTiles(std::make_index_sequence<Format::kTileTokens>());

  static void Run(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    const int64_t act_stride = Format::PreparedBytes(n);
    const auto* act = static_cast<const uint8_t*>(prepared);
    uint8_t* strip = StripBuffer(Format::StripBytes(n));
    const int64_t n_blocks = n / Format::kBlockElems;
    // Blocks per pass: as many as stay in L1 with room for the activations (rows longer than
    // that would stream the strip from L2 once per token).
    const int64_t pass = std::max<int64_t>(1, kPassBytes / Format::kBlockBytes);
    const int64_t state_stride = Format::kStateVectors * 16;
    float* state = n_blocks > pass ? StateBuffer(n_tokens * state_stride) : nullptr;
    const int64_t n_tiles = (n_tokens + Format::kTileTokens - 1) / Format::kTileTokens;
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      const int here = static_cast<int>(std::min<int64_t>(kRows, rows - r0));
      Format::Pack(n, static_cast<const uint8_t*>(w) + r0 * w_row_bytes, w_row_bytes, here, strip);
      for (int64_t b0 = 0; b0 < n_blocks; b0 += pass) {
        TileArgs args{n,
                      b0,
                      std::min(n_blocks, b0 + pass),
                      strip,
                      act,
                      act_stride,
                      state,
                      state_stride,
                      b0 == 0,
                      b0 + pass >= n_blocks,
                      y + r0,
                      y_stride,
                      static_cast<__mmask16>((1u << here) - 1)};
        for (int64_t tile = 0; tile < n_tiles; ++tile) {
          const int64_t t0 = tile * Format::kTileTokens;
          const int64_t count = std::min<int64_t>(Format::kTileTokens, n_tokens - t0);
          args.act = act + t0 * act_stride;
          args.state = state + t0 * state_stride;
          args.y = y + t0 * y_stride + r0;
          kTiles[count - 1](args);
        }
      }
    }
  }
};

}  // namespace

const parity::QuantGemm kStripQ8_0 = {Q8_0::PreparedBytes, Q8_0::Prepare, Strip<Q8_0>::Run};
const parity::QuantGemm kStripQ5_0 = {Q5_0::PreparedBytes, Q5_0::Prepare, Strip<Q5_0>::Run};
const parity::QuantGemm kStripQ4_0 = {Q4_0::PreparedBytes, Q4_0::Prepare, Strip<Q4_0>::Run};
const parity::QuantGemm kStripQ4_K = {Q4_K::PreparedBytes, Q4_K::Prepare, Strip<Q4_K>::Run};
const parity::QuantGemm kStripQ6_K = {Q6_K::PreparedBytes, Q6_K::Prepare, Strip<Q6_K>::Run};

}  // namespace r1d::kernels::strip::avx512
