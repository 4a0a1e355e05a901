#pragma once
// Shared parts of the AVX-512 strip products (strip_gemm.h): the per-thread buffers, packing
// helpers (16 rows interleaved 4 bytes at a time), the tile arguments and the driver that packs
// each strip and runs the token tiles over it in L1-sized passes. Included only by *_avx512.cc
// files (it is AVX-512 code). Weights are the unsigned operand of vpdpbusd, activations the
// signed, broadcast one; one 64-byte vector of a strip holds 4 consecutive quants of each of
// the 16 rows.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/ops.h"

namespace r1d::kernels::strip::avx512::detail {

inline constexpr int kRows = 16;  // weight rows per strip (one per 32-bit lane)

inline int64_t RoundUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// Strip bytes run per pass over the tokens (below L1's 48 KiB, leaving room for activations).
constexpr int64_t kPassBytes = 32 * 1024;

// Blocks per pass of RunStrip for a format of `block_bytes` per block (at least one).
constexpr int64_t PassBlocks(int64_t block_bytes) {
  return std::max<int64_t>(1, kPassBytes / block_bytes);
}

// The calling thread's buffer of saved float sums between passes, 64-byte aligned.
inline float* StateBuffer(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(floats + 16)) buffer.resize(floats + 16);
  const uintptr_t base = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - base % 64) % 64) / sizeof(float);
}

// The calling thread's strip buffer, 64-byte aligned.
inline uint8_t* StripBuffer(int64_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < static_cast<size_t>(bytes + 64)) buffer.resize(bytes + 64);
  const uintptr_t base = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - base % 64) % 64);
}

inline int32_t Load32(const void* p) {
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
inline void TouchRows(const uint8_t* w, int64_t bytes) {
  uint8_t sink = 0;
  for (int64_t at = 0; at < bytes; at += 64) sink ^= *static_cast<const volatile uint8_t*>(w + at);
  asm volatile("" : : "r"(sink));
}

inline StripRows MakeStripRows(const uint8_t* w, int64_t w_row_bytes, int rows) {
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
inline __m512i GatherDword(const StripRows& s, int64_t offset) {
  alignas(64) int32_t v[kRows];
  for (int r = 0; r < kRows; ++r) std::memcpy(&v[r], s.row[r] + offset, 4);
  return _mm512_load_si512(v);
}

// 32 bytes at `offset` of rows r (low half) and r + 8 (high half).
inline __m512i LoadRowPair(const StripRows& s, int r, int64_t offset) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.row[r] + offset));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.row[r + 8] + offset));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// z[r] holds dwords 0..7 of rows r and r + 8 (LoadRowPair); afterwards z[l] holds dword l of
// rows 0..15, one per lane: the strip's layout. An 8 x 8 transpose in each 256-bit half.
inline void TransposeRowPairs(__m512i (&z)[8]) {
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

inline void StoreVectors(const __m512i (&z)[8], uint8_t* dst) {
  for (int l = 0; l < 8; ++l) _mm512_store_si512(dst + l * 64, z[l]);
}

// Four fp16 scales (the low or high halves of gathered dwords) as fp32.
inline __m512 HalvesToFloat(__m512i dwords, bool high) {
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
  bool first_tile;  // the pass's first token tile: the one that streams the strip from memory
  bool prefetch;    // whether that tile prefetches ahead in software (SoftwarePrefetchPays)
};

// Prefetches the block `ahead` blocks after `block` (of block_bytes) into L1 when this tile
// streams the strip: one sequential stream per thread is more than the hardware prefetchers
// keep enough requests in flight for. Prefetches never fault, so running past the end of
// the strip (into the next one, or past the buffer) is harmless.
[[gnu::always_inline]] inline void PrefetchAhead(const TileArgs& a, const uint8_t* block,
                                                 int64_t block_bytes, int64_t ahead) {
  if (!a.first_tile || !a.prefetch) return;
  const uint8_t* p = block + ahead * block_bytes;
  for (int64_t at = 0; at < block_bytes; at += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + at), _MM_HINT_T0);
}

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

// Hsum8 of cpu_reference_order.h, lane by lane: the 8 accumulators of group l fold as
// ((a4 + a0) + (a6 + a2)) + ((a5 + a1) + (a7 + a3)).
inline __m512 FoldLanes(const __m512* acc) {
  const __m512 r0 = _mm512_add_ps(acc[4], acc[0]);
  const __m512 r1 = _mm512_add_ps(acc[5], acc[1]);
  const __m512 r2 = _mm512_add_ps(acc[6], acc[2]);
  const __m512 r3 = _mm512_add_ps(acc[7], acc[3]);
  return _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
}

// The end of a tile whose sums are 8 lanes per token: saved for the next pass, or folded
// (Hsum8 order) and stored to the outputs after the last.
template <int T>
[[gnu::always_inline]] inline void FinishLanes(const __m512 (&acc)[T][8], const TileArgs& a) {
  if (!a.last) return SaveSums(acc, a, 0);
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
    _mm512_mask_storeu_ps(a.y + t * a.y_stride, a.mask, FoldLanes(acc[t]));
}

// Integer lane sums of T tokens set to zero before a super-block.
template <int T>
[[gnu::always_inline]] inline void ZeroLanes(__m512i (&lanes)[T][8]) {
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
    for (int l = 0; l < 8; ++l) lanes[t][l] = _mm512_setzero_si512();
  }
}

// acc[l] = fma(d, lanes[l], acc[l]): a super-block's integer lane sums into a token's floats.
[[gnu::always_inline]] inline void FmaLaneSums(__m512 d, const __m512i (&lanes)[8],
                                               __m512 (&acc)[8]) {
#pragma GCC unroll 16
  for (int l = 0; l < 8; ++l) acc[l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lanes[l]), acc[l]);
}

// Runs Format's token tiles over one packed 16-row strip (Format::kBlockBytes per block), in
// passes over chunks of its blocks that stay in L1 with room for the activations (rows longer
// than that would stream the strip from L2 once per token tile).
template <class Format>
void RunStrip(int64_t n, const uint8_t* strip, int here, const uint8_t* act, int64_t n_tokens,
              float* y, int64_t y_stride) {
  using TileFn = void (*)(const TileArgs&);
  static constexpr auto kTiles = []<size_t... I>(std::index_sequence<I...>) {
    return std::array<TileFn, sizeof...(I)>{&Format::template Tile<static_cast<int>(I) + 1>...};
  }
  (std::make_index_sequence<Format::kTileTokens>());
  const int64_t act_stride = Format::PreparedBytes(n);
  const int64_t n_blocks = n / Format::kBlockElems;
  const int64_t pass = PassBlocks(Format::kBlockBytes);
  const int64_t state_stride = Format::kStateVectors * 16;
  float* state = n_blocks > pass ? StateBuffer(n_tokens * state_stride) : nullptr;
  const int64_t n_tiles = (n_tokens + Format::kTileTokens - 1) / Format::kTileTokens;
  for (int64_t b0 = 0; b0 < n_blocks; b0 += pass) {
    const int64_t b1 = std::min(n_blocks, b0 + pass);
    TileArgs args{n,
                  b0,
                  b1,
                  strip,
                  act,
                  act_stride,
                  state,
                  state_stride,
                  b0 == 0,
                  b1 == n_blocks,
                  y,
                  y_stride,
                  static_cast<__mmask16>((1u << here) - 1),
                  true,
                  SoftwarePrefetchPays()};
    for (int64_t tile = 0; tile < n_tiles; ++tile) {
      args.first_tile = tile == 0;
      const int64_t t0 = tile * Format::kTileTokens;
      const int64_t count = std::min<int64_t>(Format::kTileTokens, n_tokens - t0);
      args.act = act + t0 * act_stride;
      args.state = state + t0 * state_stride;
      args.y = y + t0 * y_stride;
      kTiles[count - 1](args);
    }
  }
}

// Packs each 16-row strip of the call from the file layout into the thread's buffer, then runs
// Format's token tiles over it.
template <class Format>
struct Strip {
  static void Run(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    uint8_t* strip = StripBuffer(n / Format::kBlockElems * Format::kBlockBytes);
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      const int here = static_cast<int>(std::min<int64_t>(kRows, rows - r0));
      Format::Pack(n, static_cast<const uint8_t*>(w) + r0 * w_row_bytes, w_row_bytes, here, strip);
      RunStrip<Format>(n, strip, here, static_cast<const uint8_t*>(prepared), n_tokens, y + r0,
                       y_stride);
    }
  }
};

// The same over weights packed at load time (packed_gemm.h): strip s of the matrix is at
// w + s * 16 * w_row_bytes, so the 16-row tiles of the caller start at strip boundaries.
template <class Format>
struct PackedStrips {
  static void Run(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      const int here = static_cast<int>(std::min<int64_t>(kRows, rows - r0));
      RunStrip<Format>(n, static_cast<const uint8_t*>(w) + r0 * w_row_bytes, here,
                       static_cast<const uint8_t*>(prepared), n_tokens, y + r0, y_stride);
    }
  }
};

}  // namespace r1d::kernels::strip::avx512::detail
