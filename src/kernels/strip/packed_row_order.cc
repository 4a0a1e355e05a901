#include "kernels/strip/packed_row_order.h"

// The fused multiply-adds below are spelled out with std::fma; nothing else may be contracted.
#pragma GCC optimize("fp-contract=off")

#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip {
namespace {

using tensor::BlockQ4_K;
using tensor::BlockQ5_0;
using tensor::BlockQ6_K;
using tensor::BlockQ8_0;
using tensor::BlockQ8_K;

float DotQ4_K(int64_t n, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ4_K*>(wv);
  const auto* a = static_cast<const BlockQ8_K*>(av);
  float acc = 0.0f;
  for (int64_t sb = 0; sb < n / 256; ++sb) {
    int32_t sum = 0, mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t scale, min;
      ref::UnpackScaleMinK4(w[sb].scales, j, &scale, &min);
      int32_t dot = 0;
      for (int i = 0; i < 32; ++i) {
        const uint8_t byte = w[sb].qs[32 * (j / 2) + i];
        dot += (j % 2 ? byte >> 4 : byte & 15) * a[sb].qs[32 * j + i];
      }
      sum += scale * dot;
      mins += min * (a[sb].bsums[2 * j] + a[sb].bsums[2 * j + 1]);
    }
    const float da = a[sb].d;
    acc = std::fma(da * Fp16ToFp32(w[sb].d), static_cast<float>(sum), acc);
    acc = std::fma(-da * Fp16ToFp32(w[sb].dmin), static_cast<float>(mins), acc);
  }
  return acc;
}

// Quant e (0..255) of a Q6_K super-block, 0..63.
int Q6Quant(const BlockQ6_K& b, int e) {
  const int h = e / 128, k = e % 128 / 32, l = e % 32;
  const uint8_t low = b.ql[64 * h + 32 * (k % 2) + l];
  const int nibble = k < 2 ? low & 15 : low >> 4;
  return nibble | ((b.qh[32 * h + l] >> (2 * k)) & 3) << 4;
}

float DotQ6_K(int64_t n, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ6_K*>(wv);
  const auto* a = static_cast<const BlockQ8_K*>(av);
  float acc = 0.0f;
  for (int64_t sb = 0; sb < n / 256; ++sb) {
    int32_t sum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t dot = 0;
      for (int e = 16 * j; e < 16 * j + 16; ++e) dot += (Q6Quant(w[sb], e) - 32) * a[sb].qs[e];
      sum += w[sb].scales[j] * dot;
    }
    acc = std::fma(a[sb].d * Fp16ToFp32(w[sb].d), static_cast<float>(sum), acc);
  }
  return acc;
}

template <class Block, int (*Quant)(const Block&, int)>
float DotBlocks32(int64_t n, const void* wv, const void* av) {
  const auto* w = static_cast<const Block*>(wv);
  const auto* a = static_cast<const BlockQ8_0*>(av);
  float acc = 0.0f;
  for (int64_t b = 0; b < n / 32; ++b) {
    int32_t dot = 0;
    for (int i = 0; i < 32; ++i) dot += Quant(w[b], i) * a[b].qs[i];
    acc = std::fma(Fp16ToFp32(a[b].d) * Fp16ToFp32(w[b].d), static_cast<float>(dot), acc);
  }
  return acc;
}

int Q8_0Quant(const BlockQ8_0& b, int i) { return b.qs[i]; }

int Q5_0Quant(const BlockQ5_0& b, int i) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  const int nibble = i < 16 ? b.qs[i] & 15 : b.qs[i - 16] >> 4;
  return (nibble | ((qh >> i) & 1) << 4) - 16;
}

}  // namespace

parity::VecDotFn GetRowOrderDot(int type) {
  switch (static_cast<tensor::DType>(type)) {
    case tensor::DType::kQ4_K:
      return DotQ4_K;
    case tensor::DType::kQ6_K:
      return DotQ6_K;
    case tensor::DType::kQ8_0:
      return DotBlocks32<BlockQ8_0, Q8_0Quant>;
    case tensor::DType::kQ5_0:
      return DotBlocks32<BlockQ5_0, Q5_0Quant>;
    default:
      return nullptr;
  }
}

}  // namespace r1d::kernels::strip
