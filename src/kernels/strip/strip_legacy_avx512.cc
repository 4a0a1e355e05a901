// Strip products of the 32-element block types against Q8_0 activations (Q8_0, Q5_0, Q4_0),
// AVX-512 F + BW + VNNI: the lane sums of LegacyDot (cpu_reference_order.h) for 16 rows.
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
using tensor::BlockQ8_0;

struct Q8_0 : Q8_0Activations {
  using Block = BlockQ8_0;
  static constexpr int kTileTokens = 2;  // tokens whose lane sums stay in registers together
  static constexpr int64_t kBlockElems = 32;
  static constexpr int kStateVectors = 8;  // float sums per token kept between passes
  // Strip block: fp32 scales of the 16 rows, then 8 vectors of quants + 128.
  static constexpr int64_t kBlockBytes = 64 + 8 * 64;

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

  // LegacyDot of cpu_reference_order.h for 16 rows (Q8_0Activations::AccumulateBlock).
  template <int T>
  static void Tile(const TileArgs& a) {
    __m512 acc[T][8];
    LoadSums(acc, a, 0);
    for (int64_t b = a.b0; b < a.b1; ++b) {
      const uint8_t* blk = a.strip + b * kBlockBytes;
      const __m512 dw = _mm512_load_ps(blk);
      __m512i w[8];
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) w[l] = _mm512_load_si512(blk + 64 + l * 64);
      AccumulateBlock(a, b, dw, w, acc);
    }
    FinishLanes(acc, a);
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

}  // namespace

const parity::QuantGemm kStripQ8_0 = {Q8_0::PreparedBytes, Q8_0::Prepare, Strip<Q8_0>::Run};
const parity::QuantGemm kStripQ5_0 = {Q5_0::PreparedBytes, Q5_0::Prepare, Strip<Q5_0>::Run};
const parity::QuantGemm kStripQ4_0 = {Q4_0::PreparedBytes, Q4_0::Prepare, Strip<Q4_0>::Run};

}  // namespace r1d::kernels::strip::avx512
