#pragma once
// Test data for the quantized products: random weight bytes with sane scales, random
// activations, converted as MatMul converts them.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "kernels/parity/quant_gemm.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels {

// Random bytes with every fp16 scale field replaced by a finite value of a sane size.
// Q4_K / Q5_K: d and dmin of each super-block of a row from `set_half`.
template <class KBlock, class SetHalf>
void SetScaleAndMin(uint8_t* row, int64_t n, SetHalf& set_half) {
  for (int64_t b = 0; b < n / tensor::kQK_K; ++b) {
    auto* blk = reinterpret_cast<KBlock*>(row) + b;
    set_half(reinterpret_cast<uint8_t*>(&blk->d));
    set_half(reinterpret_cast<uint8_t*>(&blk->dmin));
  }
}

inline std::vector<uint8_t> RandomWeights(tensor::DType type, int64_t n, int64_t rows,
                                          uint32_t seed) {
  const int64_t row_bytes = tensor::RowBytes(type, n);
  std::vector<uint8_t> w(static_cast<size_t>(row_bytes * rows));
  std::mt19937 rng(seed);
  for (uint8_t& b : w) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  auto set_half = [&](uint8_t* p) {
    const uint16_t h = Fp32ToFp16(scale(rng));
    std::memcpy(p, &h, 2);
  };
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = w.data() + r * row_bytes;
    switch (type) {
      case tensor::DType::kQ4_K:
        SetScaleAndMin<tensor::BlockQ4_K>(row, n, set_half);
        break;
      case tensor::DType::kQ5_K:
        SetScaleAndMin<tensor::BlockQ5_K>(row, n, set_half);
        break;
      case tensor::DType::kQ6_K:
        for (int64_t b = 0; b < n / tensor::kQK_K; ++b) {
          set_half(reinterpret_cast<uint8_t*>(&(reinterpret_cast<tensor::BlockQ6_K*>(row) + b)->d));
        }
        break;
      case tensor::DType::kQ8_0:
      case tensor::DType::kQ5_0:
      case tensor::DType::kQ4_0:  // 32-element blocks that start with their fp16 scale
        for (int64_t b = 0; b < n / 32; ++b) set_half(row + b * tensor::RowBytes(type, 32));
        break;
      default:
        ADD_FAILURE() << "no random weights for " << tensor::DTypeName(type);
    }
  }
  return w;
}

// Random fp16 scales with every other byte set to `fill`: quants (and Q4_K's 6-bit scales)
// at their extremes, for the largest integer sums.
inline std::vector<uint8_t> ExtremeWeights(tensor::DType type, int64_t n, int64_t rows,
                                           uint8_t fill) {
  const std::vector<uint8_t> scales_only = RandomWeights(type, n, rows, 5);
  std::vector<uint8_t> w(scales_only.size(), fill);
  const int64_t row_bytes = tensor::RowBytes(type, n);
  const int64_t block_bytes = tensor::RowBytes(type, tensor::GetDTypeInfo(type).block_elems);
  for (int64_t off = 0; off < row_bytes * rows; off += block_bytes) {
    const int64_t d_at = type == tensor::DType::kQ6_K ? block_bytes - 2 : 0;
    const int64_t d_len = type == tensor::DType::kQ4_K ? 4 : 2;
    std::memcpy(w.data() + off + d_at, scales_only.data() + off + d_at, d_len);
  }
  return w;
}

// Activations converted as MatMul converts them (large values reach the ends of the range).
inline std::vector<uint8_t> Activations(tensor::DType type, const std::vector<float>& x, int64_t n,
                                        int64_t tokens) {
  const tensor::DType act_type = GetKernels(type)->vec_dot_type;
  const int64_t row_bytes = tensor::RowBytes(act_type, n);
  std::vector<uint8_t> a(static_cast<size_t>(row_bytes * tokens));
  for (int64_t t = 0; t < tokens; ++t) {
    if (act_type == tensor::DType::kQ8_0) {
      parity::QuantizeRowQ8_0(x.data() + t * n, a.data() + t * row_bytes, n);
    } else {
      GetKernels(act_type)->quantize_row(x.data() + t * n, a.data() + t * row_bytes, n);
    }
  }
  return a;
}

inline std::vector<float> RandomFloats(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 10.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = dist(rng);
  return v;
}

// Runs a blocked product on `tokens` converted activation rows (a, equal-sized rows): each
// prepared once into a buffer at a 64-byte offset (the alignment promised), then
// y[t * y_stride + r] for every weight row r. Checks the prepared row size is a multiple of 64.
inline void RunBlocked(const parity::QuantGemm& gemm, int64_t n, const std::vector<uint8_t>& w,
                       int64_t w_row, int64_t rows, const std::vector<uint8_t>& a, int64_t tokens,
                       float* y, int64_t y_stride) {
  const int64_t a_row = static_cast<int64_t>(a.size()) / tokens;
  const int64_t p_row = gemm.prepared_row_bytes(n);
  EXPECT_EQ(p_row % 64, 0);
  std::vector<uint8_t> storage(static_cast<size_t>(p_row * tokens + 128));
  uint8_t* prepared = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64);
  for (int64_t t = 0; t < tokens; ++t) {
    gemm.prepare_row(n, a.data() + t * a_row, prepared + t * p_row);
  }
  gemm.run(n, w.data(), w_row, rows, prepared, tokens, y, y_stride);
}

// Checks y[t * y_stride + r] against the portable dot of weight row r and activation row
// pick[t], bit for bit.
// y (y_stride floats per token) holds, for each token t, the dot of every row of w with row
// pick[t] of the activations a, bit for bit as `dot` computes it.
inline void ExpectDotBits(parity::VecDotFn dot, tensor::DType type, int64_t n,
                          const std::vector<uint8_t>& w, int64_t rows,
                          const std::vector<uint8_t>& a, const std::vector<int32_t>& pick,
                          const std::vector<float>& y, int64_t y_stride, const char* what) {
  const int64_t w_row = tensor::RowBytes(type, n);
  const int64_t a_row = tensor::RowBytes(GetKernels(type)->vec_dot_type, n);
  for (size_t t = 0; t < pick.size(); ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      const float want = dot(n, w.data() + r * w_row, a.data() + pick[t] * a_row);
      const float got = y[t * y_stride + r];
      ASSERT_EQ(FloatToBits(want), FloatToBits(got))
          << what << " " << tensor::DTypeName(type) << " n " << n << " rows " << rows << " tokens "
          << pick.size() << " at r " << r << " t " << t << ": " << want << " vs " << got;
    }
  }
}

// The same against the portable llama.cpp-order dot (cpu_reference_order.h).
inline void ExpectPortableBits(tensor::DType type, int64_t n, const std::vector<uint8_t>& w,
                               int64_t rows, const std::vector<uint8_t>& a,
                               const std::vector<int32_t>& pick, const std::vector<float>& y,
                               int64_t y_stride, const char* what) {
  ExpectDotBits(parity::GetPortableVecDot(static_cast<int>(type)), type, n, w, rows, a, pick, y,
                y_stride, what);
}

inline std::vector<int32_t> Identity(int64_t count) {
  std::vector<int32_t> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[i] = static_cast<int32_t>(i);
  return v;
}

}  // namespace r1d::kernels
