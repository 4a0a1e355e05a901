// Products of Q8_0 weights packed at load (packed_gemm.h) against Q8_0 activations, AVX-512 F +
// BW + VNNI, 16 rows at a time: the lane sums of LegacyDot (cpu_reference_order.h), as the Q8_0
// strip product forms them (PackedPairTile), or the row order of packed_row_order.h
// (PackedPairRowTile).
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
using tensor::BlockQ8_0;

struct Q8_0 : Q8_0Activations {
  static constexpr int kTileTokens = 2;  // tokens whose lane sums stay in registers together
  // Packed pair of blocks (64 elements) of 16 rows: the fp16 scales of the first block's 16
  // rows, then of the second's; then per block 8 vectors of quants + 128, vector l holding
  // quants 4l .. 4l + 3 of each row. The same bytes as the file, 64-byte aligned.
  static constexpr int64_t kBlockElems = 64;
  static constexpr int64_t kQuantsAt = 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 2 * 8 * 64;
  static constexpr int kStateVectors = 8;
  static_assert(kBlockBytes == 32 * static_cast<int64_t>(sizeof(BlockQ8_0)));

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    for (int64_t p = 0; p < n / 64; ++p) {
      uint8_t* out = strip + p * kBlockBytes;
      std::memset(out, 0, kBlockBytes);
      for (int r = 0; r < rows; ++r) {
        for (int e = 0; e < 2; ++e) {
          const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(w + r * w_row_bytes)[2 * p + e];
          std::memcpy(out + 32 * e + 2 * r, &b.d, 2);
          for (int l = 0; l < 8; ++l) {
            uint8_t* q = out + kQuantsAt + (8 * e + l) * 64 + 4 * r;
            for (int i = 0; i < 4; ++i) q[i] = static_cast<uint8_t>(b.qs[4 * l + i] ^ 0x80);
          }
        }
      }
      // Padding rows: quants + 128 of zero weights (their scale is zero anyway).
      for (int r = rows; r < kRows; ++r) {
        for (int v = 0; v < 16; ++v) std::memset(out + kQuantsAt + v * 64 + 4 * r, 0x80, 4);
      }
    }
  }

  [[gnu::always_inline]] static void Weights(const uint8_t* pair, int e, __m512i (&w)[8]) {
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) w[l] = _mm512_load_si512(pair + kQuantsAt + (8 * e + l) * 64);
  }

  template <int T>
  static void Tile(const TileArgs& a) {
    PackedPairTile<Q8_0, T>(a);
  }
};

}  // namespace

const PackedFormat kPackedQ8_0 = PairPackedFormat<Q8_0>();

}  // namespace r1d::kernels::strip::avx512
