// Hand-built blocks with known values: pins the layouts of the types that have no real file in
// the test data (Q4_0, Q4_1, Q5_0, Q5_1, Q5_K) and the rounding rules of the activation
// quantizers, independently of our own quantizers.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/fp16.h"
#include "kernels/ops.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

std::vector<float> DequantizeAll(DType t, const void* block, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  for (Isa isa : AvailableIsas()) {
    GetKernels(t, isa)->dequantize_row(block, out.data(), n);
  }
  return out;  // the last ISA's result; the harness proves all ISAs agree
}

TEST(KnownAnswer, Q4_0NibbleOrder) {
  tensor::BlockQ4_0 b{};
  b.d = Fp32ToFp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = DequantizeAll(DType::kQ4_0, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(7 - j));
  }
}

TEST(KnownAnswer, Q4_1ScaleAndMin) {
  tensor::BlockQ4_1 b{};
  b.d = Fp32ToFp16(2.0f);
  b.m = Fp32ToFp16(-3.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (1 << 4));
  const std::vector<float> y = DequantizeAll(DType::kQ4_1, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * j - 3.0f);
    EXPECT_EQ(y[j + 16], -1.0f);
  }
}

TEST(KnownAnswer, Q5_0HighBitsFromLittleEndianWord) {
  tensor::BlockQ5_0 b{};
  b.d = Fp32ToFp16(1.0f);
  const uint32_t qh = (1u << 0) | (1u << 15) | (1u << 16) | (1u << 31);
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = 0x33;  // nibble 3 everywhere
  const std::vector<float> y = DequantizeAll(DType::kQ5_0, &b, 32);
  for (int e = 0; e < 32; ++e) {
    const bool high = e == 0 || e == 15 || e == 16 || e == 31;
    EXPECT_EQ(y[e], static_cast<float>((high ? 19 : 3) - 16)) << e;
  }
}

TEST(KnownAnswer, Q5_1HighBits) {
  tensor::BlockQ5_1 b{};
  b.d = Fp32ToFp16(1.0f);
  b.m = Fp32ToFp16(0.5f);
  const uint32_t qh = 0xAAAAAAAAu;  // odd elements have the 5th bit
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = 0x21;  // low nibble 1, high nibble 2
  const std::vector<float> y = DequantizeAll(DType::kQ5_1, &b, 32);
  for (int e = 0; e < 32; ++e) {
    const int q = (e < 16 ? 1 : 2) + (e % 2 == 1 ? 16 : 0);
    EXPECT_EQ(y[e], static_cast<float>(q) + 0.5f) << e;
  }
}

TEST(KnownAnswer, KQuantScalePacking) {
  // All 8 scales and mins use the high bits, so a wrong packing shows.
  const uint8_t scales[8] = {1, 17, 33, 63, 62, 48, 31, 5};
  const uint8_t mins[8] = {60, 2, 45, 16, 7, 63, 32, 40};
  uint8_t packed[12];
  ref::PackScaleMinK4(scales, mins, packed);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    ref::UnpackScaleMinK4(packed, j, &s, &m);
    EXPECT_EQ(s, scales[j]);
    EXPECT_EQ(m, mins[j]);
  }
  // ggml's layout spelled out: bytes 0-3 scales 0-3 (+ high bits of scales 4-7 on top), bytes
  // 4-7 mins 0-3 (+ high bits of mins 4-7), bytes 8-11 low nibbles of scale|min 4-7.
  EXPECT_EQ(packed[0], 1 | ((62 >> 4) << 6));
  EXPECT_EQ(packed[4], 60 | ((7 >> 4) << 6));
  EXPECT_EQ(packed[5], 2 | ((63 >> 4) << 6));
  EXPECT_EQ(packed[8], (62 & 15) | ((7 & 15) << 4));
}

TEST(KnownAnswer, Q5_KElementOrder) {
  tensor::BlockQ5_K b{};
  b.d = Fp32ToFp16(1.0f);
  b.dmin = Fp32ToFp16(1.0f);
  const uint8_t scales[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t mins[8] = {0, 0, 0, 0, 0, 0, 0, 1};
  ref::PackScaleMinK4(scales, mins, b.scales);
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  for (int l = 0; l < 32; ++l) b.qh[l] = static_cast<uint8_t>(1u << (l % 8));
  const std::vector<float> y = DequantizeAll(DType::kQ5_K, &b, 256);
  for (int e = 0; e < 256; ++e) {
    const int sub = e / 32, l = e % 32, chunk = e / 64;
    const uint8_t byte = b.qs[32 * chunk + l];
    int q = (sub % 2 == 0) ? (byte & 15) : (byte >> 4);
    if (l % 8 == sub) q += 16;  // qh[l] has bit (l % 8) set; element e uses bit e / 32
    EXPECT_EQ(y[e], static_cast<float>(scales[sub] * q - mins[sub])) << e;
  }
}

TEST(KnownAnswer, Q6_KInterleave) {
  tensor::BlockQ6_K b{};
  b.d = Fp32ToFp16(1.0f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s % 2 == 0 ? 1 : -1);
  // Varied quants written at the bit positions quant_blocks.h documents.
  std::vector<int> want_q(256);
  for (int e = 0; e < 256; ++e) want_q[e] = (e * 7 + 3) % 64;
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, g = (e % 128) / 32, l = e % 32;
    const int li = 64 * h + l + (g & 1) * 32;
    b.ql[li] = static_cast<uint8_t>(b.ql[li] | ((want_q[e] & 15) << (4 * (g >> 1))));
    b.qh[32 * h + l] = static_cast<uint8_t>(b.qh[32 * h + l] | ((want_q[e] >> 4) << (2 * g)));
  }
  const std::vector<float> y = DequantizeAll(DType::kQ6_K, &b, 256);
  for (int e = 0; e < 256; ++e) {
    EXPECT_EQ(y[e], static_cast<float>(b.scales[e / 16] * (want_q[e] - 32))) << e;
  }
}

TEST(KnownAnswer, Q8_0RoundsHalfAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1 exactly
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 3.5f;
  x[4] = 0.5f;
  for (Isa isa : AvailableIsas()) {
    tensor::BlockQ8_0 b{};
    GetKernels(DType::kQ8_0, isa)->quantize_row(x.data(), &b, 32);
    EXPECT_EQ(Fp16ToFp32(b.d), 1.0f);
    EXPECT_EQ(b.qs[0], 127);
    EXPECT_EQ(b.qs[1], 3);
    EXPECT_EQ(b.qs[2], -3);
    EXPECT_EQ(b.qs[3], 4);
    EXPECT_EQ(b.qs[4], 1);
  }
}

TEST(KnownAnswer, Q8_1StoresScaledSum) {
  std::vector<float> x(32, 1.0f);
  x[0] = -127.0f;
  for (Isa isa : AvailableIsas()) {
    tensor::BlockQ8_1 b{};
    GetKernels(DType::kQ8_1, isa)->quantize_row(x.data(), &b, 32);
    EXPECT_EQ(Fp16ToFp32(b.d), 1.0f);
    EXPECT_EQ(Fp16ToFp32(b.s), -127.0f + 31.0f);
  }
}

TEST(KnownAnswer, Q8_KMapsSignedMaxToMinus127AndRoundsTiesToEven) {
  std::vector<float> x(256, 0.0f);
  x[7] = -127.0f;  // iscale = 1
  x[8] = 127.0f;   // same magnitude later: the first one decides the sign
  x[0] = 2.5f;
  x[1] = 3.5f;
  x[2] = -2.5f;
  x[20] = 1.0f;
  for (Isa isa : AvailableIsas()) {
    tensor::BlockQ8_K b{};
    GetKernels(DType::kQ8_K, isa)->quantize_row(x.data(), &b, 256);
    EXPECT_EQ(b.d, 1.0f);
    EXPECT_EQ(b.qs[7], -127);
    EXPECT_EQ(b.qs[8], 127);
    EXPECT_EQ(b.qs[0], 2);
    EXPECT_EQ(b.qs[1], 4);
    EXPECT_EQ(b.qs[2], -2);
    EXPECT_EQ(b.bsums[0], 2 + 4 - 2 - 127 + 127);
    EXPECT_EQ(b.bsums[1], 1);
    for (int s = 2; s < 16; ++s) EXPECT_EQ(b.bsums[s], 0);
  }
  x[7] = 127.0f;
  x[8] = -127.0f;
  tensor::BlockQ8_K b{};
  GetKernels(DType::kQ8_K)->quantize_row(x.data(), &b, 256);
  EXPECT_EQ(b.d, -1.0f);  // positive max: the quants are negated, d is negative
  EXPECT_EQ(b.qs[7], -127);
  EXPECT_EQ(b.qs[0], -2);
}

TEST(KnownAnswer, Fp16ActivationsRoundToNearestEven) {
  // 1 + 2^-11 lies exactly between two halves: ties to even gives 1.0; 1 + 3*2^-11 -> 1+2^-9.
  std::vector<float> x = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.0f, -0.0f};
  for (Isa isa : AvailableIsas()) {
    uint16_t h[4];
    GetKernels(DType::kF16, isa)->quantize_row(x.data(), h, 4);
    EXPECT_EQ(h[0], 0x3C00);
    EXPECT_EQ(h[1], 0x3C02);
    EXPECT_EQ(h[2], 0x7C00);  // rounds to infinity
    EXPECT_EQ(h[3], 0x8000);
  }
}

}  // namespace
}  // namespace r1d::kernels
