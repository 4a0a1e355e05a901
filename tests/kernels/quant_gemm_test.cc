// The blocked quantized products (kernels/parity/quant_gemm.h) and MatMul built on them against
// the portable llama.cpp-order dot product, output by output, bit for bit: for weight blocks of
// random bytes (every scale, min and quant pattern, not only what a quantizer produces), odd
// row and token counts (tile remainders) and several lengths.
#include "kernels/parity/quant_gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "kernels/strip/strip_gemm.h"
#include "quant_test_data.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

const DType kTypes[] = {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K,
                        DType::kQ8_0, DType::kQ5_0, DType::kQ4_0};

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
          std::vector<float> y(static_cast<size_t>(rows * tokens), -1.0f);
          RunBlocked(*gemm, n, w, w_row, rows, a, tokens, y.data(), rows);
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
    // Batches that take the parity products (larger ones: strip_gemm_test).
    const int64_t below_strip =
        std::min<int64_t>(21, strip::MinStripTokens(static_cast<int>(type)) - 1);
    for (int64_t tokens : {int64_t{1}, int64_t{6}, below_strip}) {
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
