// The strip products (kernels/strip/strip_gemm.h) against the portable llama.cpp-order dot,
// output by output, bit for bit: for random weight bytes (every scale, min and quant pattern),
// quants at their extremes (the largest integer sums), odd row and token counts (strip and
// tile remainders) and several lengths. Then MatMul and its gathering form at batch sizes that
// take the strip path.
#include "kernels/strip/strip_gemm.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "quant_test_data.h"
#include "tensor/dtype.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

const DType kStripTypes[] = {DType::kQ8_0, DType::kQ5_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K};

TEST(StripGemm, EveryOutputMatchesThePortableDotBitForBit) {
  bool any = false;
  for (DType type : kStripTypes) {
    const parity::QuantGemm* gemm = strip::GetStripGemm(static_cast<int>(type));
    if (gemm == nullptr) continue;
    any = true;
    std::vector<int64_t> lengths = {256, 512, 2816};
    if (tensor::GetDTypeInfo(type).block_elems == 32) lengths.insert(lengths.end(), {32, 96, 2848});
    for (int64_t n : lengths) {
      for (int64_t rows : {1, 15, 16, 37}) {
        for (int64_t tokens : {1, 7, 8, 9, 17, 38}) {
          const uint32_t seed = static_cast<uint32_t>(n * 3 + rows * 11 + tokens * 101);
          const std::vector<uint8_t> w = RandomWeights(type, n, rows, seed);
          const std::vector<uint8_t> a =
              Activations(type, RandomFloats(n * tokens, seed + 1), n, tokens);
          // Outputs in a wider matrix: the product writes its rows and nothing else.
          const int64_t y_stride = rows + 3;
          std::vector<float> y(static_cast<size_t>(y_stride * tokens), -7.0f);
          RunBlocked(*gemm, n, w, tensor::RowBytes(type, n), rows, a, tokens, y.data(), y_stride);
          ExpectPortableBits(type, n, w, rows, a, Identity(tokens), y, y_stride, "run");
          for (int64_t t = 0; t < tokens; ++t) {
            for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(y[t * y_stride + r], -7.0f);
          }
        }
      }
    }
  }
  if (!any) GTEST_SKIP() << "no strip product on this CPU";
}

// A weight whose quants are all at the extremes, against activations all at the extremes: the
// integer sums reach their largest magnitudes (no int32 or int16 overflow in any partial sum).
TEST(StripGemm, ExtremeQuantsDoNotOverflow) {
  if (strip::GetStripGemm(static_cast<int>(DType::kQ8_0)) == nullptr) {
    GTEST_SKIP() << "no strip product on this CPU";
  }
  ThreadPool pool(2);
  for (DType type : kStripTypes) {
    const int64_t n = 4096, rows = 16, tokens = strip::MinStripTokens(static_cast<int>(type));
    for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, uint8_t{0x7F}}) {
      const std::vector<uint8_t> w = ExtremeWeights(type, n, rows, fill);
      std::vector<float> x(static_cast<size_t>(n * tokens));
      for (size_t i = 0; i < x.size(); ++i) x[i] = (i / 7) % 2 ? 100.0f : -100.0f;
      const std::vector<uint8_t> a = Activations(type, x, n, tokens);
      std::vector<float> y(static_cast<size_t>(rows * tokens));
      MatMulScratch scratch;
      MatMul(pool, WeightView{w.data(), type, n, rows}, x.data(), tokens, y.data(), scratch);
      ExpectPortableBits(type, n, w, rows, a, Identity(tokens), y, rows, "extremes");
    }
  }
}

// MatMul (threads, row tiles, activation conversion) and the gathering form used by
// mixture-of-experts layers, at batch sizes that take the strip products.
TEST(StripGemm, MatMulAndGatherUseIt) {
  if (strip::GetStripGemm(static_cast<int>(DType::kQ8_0)) == nullptr) {
    GTEST_SKIP() << "no strip product on this CPU";
  }
  ThreadPool pool(2);
  for (DType type : kStripTypes) {
    const int64_t n = 768, rows = 53;
    for (int64_t tokens : {strip::MinStripTokens(static_cast<int>(type)), int64_t{29}}) {
      const std::vector<uint8_t> w = RandomWeights(type, n, rows, 31);
      const std::vector<float> x = RandomFloats(n * tokens, 32);
      const std::vector<uint8_t> a = Activations(type, x, n, tokens);
      std::vector<float> y(static_cast<size_t>(rows * tokens));
      MatMulScratch scratch;
      MatMul(pool, WeightView{w.data(), type, n, rows}, x.data(), tokens, y.data(), scratch);
      ExpectPortableBits(type, n, w, rows, a, Identity(tokens), y, rows, "MatMul");

      std::vector<int32_t> pick;
      for (int64_t i = 0; i < tokens + 3; ++i)
        pick.push_back(static_cast<int32_t>((i * 5) % tokens));
      std::vector<float> yg(pick.size() * rows);
      const int64_t a_row = static_cast<int64_t>(a.size()) / tokens;
      ASSERT_TRUE(MatMulConverted(pool, WeightView{w.data(), type, n, rows}, a.data(), a_row,
                                  pick.data(), static_cast<int64_t>(pick.size()), yg.data(),
                                  scratch));
      ExpectPortableBits(type, n, w, rows, a, pick, yg, rows, "gather");
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
