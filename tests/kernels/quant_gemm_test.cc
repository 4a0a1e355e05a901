// The blocked quantized products (kernels/parity/quant_gemm.h) and MatMul built on them against
// the portable llama.cpp-order dot product, output by output, bit for bit: for weight blocks of
// random bytes (every scale, min and quant pattern, not only what a quantizer produces), odd
// row and token counts (tile remainders) and several lengths.
#include "kernels/parity/quant_gemm.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

// Random bytes with every fp16 scale field replaced by a finite value of a sane size.
std::vector<uint8_t> RandomWeights(DType type, int64_t n, int64_t rows, uint32_t seed) {
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
      case DType::kQ4_K:
        for (int64_t b = 0; b < n / tensor::kQK_K; ++b) {
          auto* blk = reinterpret_cast<tensor::BlockQ4_K*>(row) + b;
          set_half(reinterpret_cast<uint8_t*>(&blk->d));
          set_half(reinterpret_cast<uint8_t*>(&blk->dmin));
        }
        break;
      case DType::kQ6_K:
        for (int64_t b = 0; b < n / tensor::kQK_K; ++b) {
          set_half(reinterpret_cast<uint8_t*>(&(reinterpret_cast<tensor::BlockQ6_K*>(row) + b)->d));
        }
        break;
      case DType::kQ8_0:
      case DType::kQ5_0:
      case DType::kQ4_0:  // 32-element blocks that start with their fp16 scale
        for (int64_t b = 0; b < n / 32; ++b) set_half(row + b * tensor::RowBytes(type, 32));
        break;
      default:
        ADD_FAILURE() << "no random weights for " << tensor::DTypeName(type);
    }
  }
  return w;
}

// Activations converted as MatMul converts them (large values reach the ends of the range).
std::vector<uint8_t> Activations(DType type, const std::vector<float>& x, int64_t n,
                                 int64_t tokens) {
  const DType act_type = GetKernels(type)->vec_dot_type;
  const int64_t row_bytes = tensor::RowBytes(act_type, n);
  std::vector<uint8_t> a(static_cast<size_t>(row_bytes * tokens));
  for (int64_t t = 0; t < tokens; ++t) {
    if (act_type == DType::kQ8_0) {
      parity::QuantizeRowQ8_0(x.data() + t * n, a.data() + t * row_bytes, n);
    } else {
      GetKernels(act_type)->quantize_row(x.data() + t * n, a.data() + t * row_bytes, n);
    }
  }
  return a;
}

std::vector<float> RandomFloats(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 10.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = dist(rng);
  return v;
}

const DType kTypes[] = {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kQ5_0, DType::kQ4_0};

TEST(QuantGemm, EveryOutputMatchesThePortableDotBitForBit) {
  bool any = false;
  for (DType type : kTypes) {
    const parity::QuantGemm* gemm = parity::GetQuantGemm(static_cast<int>(type));
    if (gemm == nullptr) continue;  // this CPU has no blocked version: MatMul uses the dots
    any = true;
    const parity::VecDotFn portable = parity::GetPortableVecDot(static_cast<int>(type));
    // Rows of an odd number of 32-element blocks end in a half-used pair.
    std::vector<int64_t> lengths = {256, 512, 2816};
    if (tensor::GetDTypeInfo(type).block_elems == 32) lengths.insert(lengths.end(), {96, 2848});
    for (int64_t n : lengths) {
      for (int64_t rows : {1, 3, 37}) {
        for (int64_t tokens : {1, 2, 3, 4, 5, 7, 17, 38}) {
          const uint32_t seed = static_cast<uint32_t>(n + rows * 7 + tokens * 131);
          const std::vector<uint8_t> w = RandomWeights(type, n, rows, seed);
          const std::vector<float> x = RandomFloats(n * tokens, seed + 1);
          const std::vector<uint8_t> a = Activations(type, x, n, tokens);
          const int64_t w_row = tensor::RowBytes(type, n);
          const int64_t a_row = static_cast<int64_t>(a.size()) / tokens;
          // Prepared rows at an offset of 64 bytes into the buffer (the alignment promised).
          const int64_t p_row = gemm->prepared_row_bytes(n);
          ASSERT_EQ(p_row % 64, 0);
          std::vector<uint8_t> storage(static_cast<size_t>(p_row * tokens + 128));
          uint8_t* prepared =
              storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64);
          for (int64_t t = 0; t < tokens; ++t) {
            gemm->prepare_row(n, a.data() + t * a_row, prepared + t * p_row);
          }
          std::vector<float> y(static_cast<size_t>(rows * tokens), -1.0f);
          gemm->run(n, w.data(), w_row, rows, prepared, tokens, y.data(), rows);
          for (int64_t t = 0; t < tokens; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
              const float want = portable(n, w.data() + r * w_row, a.data() + t * a_row);
              ASSERT_EQ(FloatToBits(want), FloatToBits(y[t * rows + r]))
                  << tensor::DTypeName(type) << " n " << n << " rows " << rows << " tokens "
                  << tokens << " at r " << r << " t " << t << ": " << want << " vs "
                  << y[t * rows + r];
            }
          }
        }
      }
    }
  }
  if (!any) GTEST_SKIP() << "no blocked quantized product on this CPU";
}

// The whole MatMul (activation conversion, threads, row tiles) against the portable dots.
TEST(QuantGemm, MatMulMatchesThePortableDots) {
  ThreadPool pool(2);
  for (DType type : kTypes) {
    const parity::VecDotFn portable = parity::GetPortableVecDot(static_cast<int>(type));
    const int64_t n = 768, rows = 53;
    for (int64_t tokens : {1, 6, 21}) {
      const std::vector<uint8_t> w = RandomWeights(type, n, rows, 77);
      const std::vector<float> x = RandomFloats(n * tokens, 78);
      const std::vector<uint8_t> a = Activations(type, x, n, tokens);
      const int64_t a_row = static_cast<int64_t>(a.size()) / tokens;
      std::vector<float> y(static_cast<size_t>(rows * tokens));
      MatMulScratch scratch;
      MatMul(pool, WeightView{w.data(), type, n, rows}, x.data(), tokens, y.data(), scratch);
      for (int64_t t = 0; t < tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          const float want =
              portable(n, w.data() + r * tensor::RowBytes(type, n), a.data() + t * a_row);
          ASSERT_EQ(FloatToBits(want), FloatToBits(y[t * rows + r]))
              << tensor::DTypeName(type) << " tokens " << tokens << " r " << r << " t " << t;
        }
      }
    }
  }
}

// The gathering form used by mixture-of-experts layers: rows picked (and repeated) by index.
TEST(QuantGemm, MatMulConvertedGathersRows) {
  ThreadPool pool(2);
  for (DType type : kTypes) {
    const parity::VecDotFn portable = parity::GetPortableVecDot(static_cast<int>(type));
    const int64_t n = 512, rows = 19, tokens = 6;
    const std::vector<uint8_t> w = RandomWeights(type, n, rows, 91);
    const std::vector<uint8_t> a = Activations(type, RandomFloats(n * tokens, 92), n, tokens);
    const int64_t a_row = static_cast<int64_t>(a.size()) / tokens;
    const std::vector<int32_t> pick = {5, 0, 3, 3, 1};
    std::vector<float> y(pick.size() * rows);
    MatMulScratch scratch;
    const bool blocked =
        MatMulConverted(pool, WeightView{w.data(), type, n, rows}, a.data(), a_row, pick.data(),
                        static_cast<int64_t>(pick.size()), y.data(), scratch);
    if (!blocked) {
      EXPECT_EQ(parity::GetQuantGemm(static_cast<int>(type)), nullptr);
      continue;
    }
    for (size_t i = 0; i < pick.size(); ++i) {
      for (int64_t r = 0; r < rows; ++r) {
        const float want =
            portable(n, w.data() + r * tensor::RowBytes(type, n), a.data() + pick[i] * a_row);
        ASSERT_EQ(FloatToBits(want), FloatToBits(y[i * rows + r]))
            << tensor::DTypeName(type) << " i " << i << " r " << r;
      }
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
