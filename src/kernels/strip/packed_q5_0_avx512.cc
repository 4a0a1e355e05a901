// Products of Q5_0 weights packed at load (packed_gemm.h) against Q8_0 activations, AVX-512 F +
// BW + VNNI, 16 rows at a time: the lane sums of LegacyDot (cpu_reference_order.h), as the
// Q5_0 strip product forms them (PackedPairTile), or the row order of packed_row_order.h
// (PackedPairRowTile). The weights are quant + 128 (the activations' corrections undo it),
// unpacked from the packed 5 bits in registers.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own set1/mask intrinsics as
// uninitialized (a false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/strip/packed_gemm.h"
#include "kernels/strip/strip_activations.h"
#include "kernels/strip/strip_common_avx512.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip::avx512 {
namespace {

using namespace detail;
using tensor::BlockQ5_0;

struct Q5_0 : Q8_0Activations {
  static constexpr int kTileTokens = 2;  // tokens whose lane sums stay in registers together
  // Packed pair of blocks (64 elements) of 16 rows: the fp16 scales of the first block's 16
  // rows, then of the second's; then per block 4 nibble vectors, vector k holding qs[4k ..
  // 4k + 3] of each row (low nibbles: elements 4k.., lane k; high nibbles: elements 16 + 4k..,
  // lane k + 4), and one vector of high bits whose byte i of row r has, in bit l, the 5th bit
  // of element 4l + i. The same bytes as the file, 64-byte aligned.
  static constexpr int64_t kBlockElems = 64;
  static constexpr int64_t kBlockAt = 64;          // the first block's vectors
  static constexpr int64_t kBlockStride = 5 * 64;  // 4 nibble vectors + 1 high-bit vector
  static constexpr int64_t kBlockBytes = kBlockAt + 2 * kBlockStride;
  static constexpr int kStateVectors = 8;
  static_assert(kBlockBytes == 32 * static_cast<int64_t>(sizeof(BlockQ5_0)));

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    for (int64_t p = 0; p < n / 64; ++p) {
      uint8_t* out = strip + p * kBlockBytes;
      std::memset(out, 0, kBlockBytes);
      for (int r = 0; r < rows; ++r) {
        for (int e = 0; e < 2; ++e) {
          const BlockQ5_0& b = reinterpret_cast<const BlockQ5_0*>(w + r * w_row_bytes)[2 * p + e];
          uint8_t* v = out + kBlockAt + e * kBlockStride;
          std::memcpy(out + 32 * e + 2 * r, &b.d, 2);
          for (int k = 0; k < 4; ++k) std::memcpy(v + 64 * k + 4 * r, b.qs + 4 * k, 4);
          uint32_t qh;
          std::memcpy(&qh, b.qh, 4);
          for (int i = 0; i < 4; ++i) {
            uint8_t bits = 0;
            for (int l = 0; l < 8; ++l)
              bits |= static_cast<uint8_t>(((qh >> (4 * l + i)) & 1) << l);
            v[4 * 64 + 4 * r + i] = bits;
          }
        }
      }
    }
  }

  // Quants + 128 of lane l from the nibble vector of lane l % 4 and the high-bit vector.
  template <int l>
  [[gnu::always_inline]] static __m512i Unpack(__m512i nibbles, __m512i high) {
    const __m512i low = l < 4 ? nibbles : _mm512_srli_epi16(nibbles, 4);
    // Bit l of each byte to bit 4 (16-bit shifts; the mask keeps bytes apart).
    const __m512i top = l < 4 ? _mm512_slli_epi16(high, 4 - l) : _mm512_srli_epi16(high, l - 4);
    const __m512i q = _mm512_ternarylogic_epi32(_mm512_and_si512(low, _mm512_set1_epi8(0x0F)), top,
                                                _mm512_set1_epi8(0x10), 0xF8);  // low | top & 0x10
    return _mm512_add_epi8(q, _mm512_set1_epi8(112));                           // - 16 + 128
  }

  [[gnu::always_inline]] static void Weights(const uint8_t* pair, int e, __m512i (&w)[8]) {
    const uint8_t* blk = pair + kBlockAt + e * kBlockStride;
    const __m512i high = _mm512_load_si512(blk + 4 * 64);
    __m512i nib[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) nib[k] = _mm512_load_si512(blk + 64 * k);
    w[0] = Unpack<0>(nib[0], high);
    w[1] = Unpack<1>(nib[1], high);
    w[2] = Unpack<2>(nib[2], high);
    w[3] = Unpack<3>(nib[3], high);
    w[4] = Unpack<4>(nib[0], high);
    w[5] = Unpack<5>(nib[1], high);
    w[6] = Unpack<6>(nib[2], high);
    w[7] = Unpack<7>(nib[3], high);
  }

  template <int T>
  static void Tile(const TileArgs& a) {
    PackedPairTile<Q5_0, T>(a);
  }
};

}  // namespace

const PackedFormat kPackedQ5_0 = PairPackedFormat<Q5_0>();

}  // namespace r1d::kernels::strip::avx512
