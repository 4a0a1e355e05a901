#pragma once
// The packed layouts of Q4_K and Q6_K (packed_gemm.h): the bytes of a super-block of 16 rows
// and how they are packed from the file, shared by the products in llama.cpp's order
// (packed_kquant_avx512.cc) and in row order (packed_kquant_row_avx512.cc). Included only by
// *_avx512.cc files (Q6_KLayout::Unpack is AVX-512 code).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/fp16.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/strip/strip_common_avx512.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip::avx512::detail {

// The packed row r of `rows` (a zero row past the end) is written by `fill(r)`; the whole
// block is zeroed first so padding rows have zero scales.
template <class Fill>
void ForEachRow(int rows, int64_t block_bytes, uint8_t* out, Fill fill) {
  std::memset(out, 0, static_cast<size_t>(block_bytes));
  for (int r = 0; r < rows; ++r) fill(r);
}

inline __m512i Broadcast32(const int8_t* p) { return _mm512_set1_epi32(Load32(p)); }

// Super-blocks prefetched ahead of the one being read (about 5 KiB for Q4_K, 7 KiB for Q6_K).
// Four (10-13 KiB) were 3-10% slower for 1.5B Q4_K_M decode (bench/RESULTS.md, third
// session): too many lines in flight into L1 stall the loads.
constexpr int64_t kPrefetchBlocks = 2;

struct Q4_KLayout {
  static constexpr int64_t kBlockElems = 256;
  // Packed super-block of 16 rows: fp16 d, fp16 dmin; the 8 sub-block scales as 8 x 16 bytes
  // (scale j of rows 0..15); the mins as 4 x 16 byte pairs (mins 2k, 2k + 1 of each row); then
  // 8 lanes x 4 chunks of 64 bytes: vector (l, c) holds qs[32c + 4l .. +3] of each row, whose
  // low nibbles are quants 4l.. of sub-block 2c and high nibbles those of sub-block 2c + 1
  // (lane-major: the order the llama.cpp-order tile reads them, one sequential stream).
  static constexpr int64_t kDminAt = 32;
  static constexpr int64_t kScalesAt = 64;
  static constexpr int64_t kMinsAt = kScalesAt + 8 * 16;
  static constexpr int64_t kQuantsAt = kMinsAt + 4 * 32;
  static constexpr int64_t kBlockBytes = kQuantsAt + 32 * 64;
  static_assert(kQuantsAt % 64 == 0 && kBlockBytes % 64 == 0);
  static_assert(kBlockBytes == 16 * static_cast<int64_t>(sizeof(tensor::BlockQ4_K)) + 64);

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    for (int64_t sb = 0; sb < n / 256; ++sb) {
      uint8_t* out = strip + sb * kBlockBytes;
      ForEachRow(rows, kBlockBytes, out, [&](int r) {
        const auto& b = reinterpret_cast<const tensor::BlockQ4_K*>(w + r * w_row_bytes)[sb];
        std::memcpy(out + 2 * r, &b.d, 2);
        std::memcpy(out + kDminAt + 2 * r, &b.dmin, 2);
        for (int j = 0; j < 8; ++j) {
          uint8_t scale, min;
          ref::UnpackScaleMinK4(b.scales, j, &scale, &min);
          out[kScalesAt + 16 * j + r] = scale;
          out[kMinsAt + 32 * (j / 2) + 2 * r + j % 2] = min;
        }
        for (int c = 0; c < 4; ++c) {
          for (int l = 0; l < 8; ++l) {
            std::memcpy(out + QuantVectorAt(l, c) + 4 * r, b.qs + 32 * c + 4 * l, 4);
          }
        }
      });
    }
  }

  // Vector (l, c): qs[32c + 4l .. +3] of each row.
  static constexpr int64_t QuantVectorAt(int l, int c) { return kQuantsAt + (4 * l + c) * 64; }
};

struct Q6_KLayout {
  static constexpr int64_t kBlockElems = 256;
  // Packed super-block of 16 rows: fp32 d; the 16 int8 sub-block scales as 16 x 16 bytes; then
  // per lane l and half h (lane-major) 3 vectors: the low bits
  // ql[64h + 4l .. +3] and ql[64h + 32 + 4l .. +3] of each row (low nibbles: chunks 4h and
  // 4h + 1, high nibbles: chunks 4h + 2 and 4h + 3) and the high bits qh[32h + 4l .. +3]
  // (bits 2i, 2i + 1: chunk 4h + i). 32 bytes more than the file per strip (fp32 d), so the
  // vectors stay aligned.
  static constexpr int64_t kScalesAt = 64;
  static constexpr int64_t kQuantsAt = kScalesAt + 16 * 16;
  static constexpr int64_t kBlockBytes = kQuantsAt + 48 * 64;
  static constexpr int64_t VectorAt(int l, int h, int k) {
    return kQuantsAt + (6 * l + 3 * h + k) * 64;
  }
  static_assert(kQuantsAt % 64 == 0 && kBlockBytes % 64 == 0);
  static_assert(kBlockBytes == 16 * static_cast<int64_t>(sizeof(tensor::BlockQ6_K)) + 32);

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    for (int64_t sb = 0; sb < n / 256; ++sb) {
      uint8_t* out = strip + sb * kBlockBytes;
      ForEachRow(rows, kBlockBytes, out, [&](int r) {
        const auto& b = reinterpret_cast<const tensor::BlockQ6_K*>(w + r * w_row_bytes)[sb];
        const float d = Fp16ToFp32(b.d);
        std::memcpy(out + 4 * r, &d, 4);
        for (int j = 0; j < 16; ++j)
          out[kScalesAt + 16 * j + r] = static_cast<uint8_t>(b.scales[j]);
        for (int h = 0; h < 2; ++h) {
          for (int l = 0; l < 8; ++l) {
            for (int k = 0; k < 2; ++k) {
              std::memcpy(out + VectorAt(l, h, k) + 4 * r, b.ql + 64 * h + 32 * k + 4 * l, 4);
            }
            std::memcpy(out + VectorAt(l, h, 2) + 4 * r, b.qh + 32 * h + 4 * l, 4);
          }
        }
      });
    }
  }

  // Quants + 32 of chunk 4h + i, lane l, from the lane's low and high bit vectors.
  template <int i>
  [[gnu::always_inline]] static __m512i Unpack(__m512i low0, __m512i low1, __m512i high) {
    const __m512i low = i == 0   ? low0
                        : i == 1 ? low1
                        : i == 2 ? _mm512_srli_epi16(low0, 4)
                                 : _mm512_srli_epi16(low1, 4);
    // Bits 2i, 2i + 1 to bits 4, 5 (16-bit shifts; the masks keep bytes apart).
    const __m512i top = i == 0   ? _mm512_slli_epi16(high, 4)
                        : i == 1 ? _mm512_slli_epi16(high, 2)
                        : i == 2 ? high
                                 : _mm512_srli_epi16(high, 2);
    return _mm512_or_si512(_mm512_and_si512(low, _mm512_set1_epi8(0x0F)),
                           _mm512_and_si512(top, _mm512_set1_epi8(0x30)));
  }
};

}  // namespace r1d::kernels::strip::avx512::detail
