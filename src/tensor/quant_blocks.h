#pragma once
// Byte-exact block layouts of the quantized types, as GGUF files (ggml) store them. All
// multi-byte fields are little-endian; `uint16_t d` fields hold IEEE half floats (see
// core/fp16.h). These headers hold only data layouts and constants (no inline functions) so
// that SIMD translation units compiled with wider instruction sets can include them without
// risking ODR-merged copies of AVX-512 code being called on older CPUs.
//
// Element order within a block (what dequantize produces, index e = 0 .. block_elems-1):
// - Q4_0 / Q4_1: qs[j] low nibble = element j, high nibble = element j + 16 (j < 16).
// - Q5_0 / Q5_1: as Q4_*, plus bit e of the little-endian uint32 in qh is the 5th bit of e.
// - Q8_0 / Q8_1: qs[e].
// - Q4_K: 8 sub-blocks of 32 with 6-bit scale/min pairs (packing below). qs[32*c + l] low
//   nibble = element 64*c + l (sub-block 2c), high nibble = element 64*c + 32 + l (2c + 1).
// - Q5_K: as Q4_K, plus the 5th bit of element e is bit (e / 32) of qh[e % 32].
// - Q6_K: two halves of 128. In half h, for l < 32: element 128h + l      = ql[64h + l] low
//   nibble | qh[32h + l] bits 0-1 << 4; element +32 = ql[64h + 32 + l] low | qh bits 2-3;
//   element +64 = ql[64h + l] high | qh bits 4-5; element +96 = ql[64h + 32 + l] high | qh bits
//   6-7; value = d * scales[e / 16] * (q - 32).
// - Q8_K: qs[e]; bsums[i] = sum of qs[16i .. 16i + 15].
//
// K-quant 6-bit scale packing (scales[12] of Q4_K/Q5_K), for sub-block j (0..7):
//   j < 4: scale = scales[j] & 63,            min = scales[j + 4] & 63
//   j >= 4: scale = (scales[j + 4] & 0xF) | (scales[j - 4] >> 6) << 4,
//           min   = (scales[j + 4] >> 4)  | (scales[j]     >> 6) << 4
// value = d * scale * q - dmin * min.
#include <cstdint>

namespace r1d::tensor {

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK4_1 = 32;
inline constexpr int kQK5_0 = 32;
inline constexpr int kQK5_1 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK8_1 = 32;
inline constexpr int kQK_K = 256;       // elements per k-quant super-block
inline constexpr int kKScaleSize = 12;  // packed 6-bit scales + mins of Q4_K / Q5_K

struct BlockQ4_0 {
  uint16_t d;              // fp16 scale
  uint8_t qs[kQK4_0 / 2];  // x = d * (q - 8)
};

struct BlockQ4_1 {
  uint16_t d;              // fp16 scale
  uint16_t m;              // fp16 min
  uint8_t qs[kQK4_1 / 2];  // x = d * q + m
};

struct BlockQ5_0 {
  uint16_t d;              // fp16 scale
  uint8_t qh[4];           // 5th bits, little-endian uint32
  uint8_t qs[kQK5_0 / 2];  // x = d * (q - 16)
};

struct BlockQ5_1 {
  uint16_t d;              // fp16 scale
  uint16_t m;              // fp16 min
  uint8_t qh[4];           // 5th bits
  uint8_t qs[kQK5_1 / 2];  // x = d * q + m
};

struct BlockQ8_0 {
  uint16_t d;         // fp16 scale
  int8_t qs[kQK8_0];  // x = d * q
};

struct BlockQ8_1 {
  uint16_t d;  // fp16 scale
  uint16_t s;  // fp16 of d * sum(qs)
  int8_t qs[kQK8_1];
};

struct BlockQ4_K {
  uint16_t d;                   // fp16 super-block scale of the scales
  uint16_t dmin;                // fp16 super-block scale of the mins
  uint8_t scales[kKScaleSize];  // 8 6-bit scales + 8 6-bit mins
  uint8_t qs[kQK_K / 2];
};

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};

struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 8-bit sub-block scales
  uint16_t d;                 // fp16 super-block scale
};

struct BlockQ8_K {
  float d;  // fp32 scale (activations only; never stored in files)
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];  // sums of each 16 qs
};

// The sizes GGUF uses (and src/tensor/dtype.cc's table; a test checks both agree).
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace r1d::tensor
