// Weights packed at load (Model::PackWeights) give the same logits, bit for bit, as the same
// model computing on the file layout: prefill and decode, for every packed weight type of the
// test models (Q8_0, Q4_K, Q6_K) and both architectures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "kernels/strip/packed_gemm.h"
#include "models/deepseek2.h"
#include "models/model.h"
#include "tensor/dtype.h"
#include "test_util.h"

namespace r1d {
namespace {

// Logits of the last prompt token after a prefill, then after one decode step.
std::vector<float> PrefillThenDecode(models::Model& model, ThreadPool& pool) {
  const int64_t V = model.info().n_vocab;
  const std::vector<int32_t> prompt = {1, 17, 300, 4000, 5, 6, 7, 8, 9, 10, 11};
  auto st = model.NewSequence(64);
  EXPECT_TRUE(st.ok());
  std::vector<float> out(2 * V);
  const int64_t n = static_cast<int64_t>(prompt.size()) - 1;
  EXPECT_TRUE(model.Forward(pool, **st, prompt.data(), n, 0, out.data()).ok());
  EXPECT_TRUE(model.Forward(pool, **st, &prompt.back(), 1, n, out.data() + V).ok());
  return out;
}

std::vector<float> Softmax(const float* logits, int64_t n) {
  const float top = *std::max_element(logits, logits + n);
  std::vector<float> p(logits, logits + n);
  double sum = 0;
  for (float& x : p) sum += x = std::exp(x - top);
  for (float& x : p) x = static_cast<float>(x / sum);
  return p;
}

// One model per packed weight type of the test data (Q8_0, Q4_K, Q6_K) and per architecture.
const char* const kModels[] = {"qwen2-tiny-q8_0.gguf", "qwen2-tiny-q4_k_m.gguf",
                               "deepseek2-tiny-q8_0.gguf"};

TEST(PackedWeights, SameLogitsBitForBit) {
  R1D_REQUIRE_TESTDATA();
  if (kernels::strip::GetPackedGemm(static_cast<int>(tensor::DType::kQ8_0)) == nullptr) {
    GTEST_SKIP() << "no packed product on this CPU";
  }
  ThreadPool pool(2);
  for (const char* name : kModels) {
    SCOPED_TRACE(name);
    models::LoadOptions file_layout;
    file_layout.pack_weights = false;
    auto plain = models::LoadModel(testing::FindTestModel(name), file_layout);
    auto packed = models::LoadModel(testing::FindTestModel(name));
    ASSERT_TRUE(plain.ok()) << plain.status().message();
    ASSERT_TRUE(packed.ok()) << packed.status().message();
    EXPECT_EQ((*plain)->pack_stats().matrices, 0);
    EXPECT_GT((*packed)->pack_stats().matrices, 0);
    EXPECT_GT((*packed)->pack_stats().bytes, 0);
    const std::vector<float> want = PrefillThenDecode(**plain, pool);
    const std::vector<float> got = PrefillThenDecode(**packed, pool);
    ASSERT_EQ(want.size(), got.size());
    EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0);
  }
}

// deepseek2 with the absorbed attention (decode never decompresses the cache): attn_kv_b is
// packed but its rows are still read from the file layout as floats.
TEST(PackedWeights, AbsorbedAttentionKeepsItsBits) {
  R1D_REQUIRE_TESTDATA();
  if (kernels::strip::GetPackedGemm(static_cast<int>(tensor::DType::kQ8_0)) == nullptr) {
    GTEST_SKIP() << "no packed product on this CPU";
  }
  ThreadPool pool(2);
  models::Deepseek2Options absorbed;
  absorbed.decompress_budget = 0;
  std::vector<std::vector<float>> logits;
  for (bool pack : {false, true}) {
    auto file = formats::GgufFile::Open(testing::FindTestModel("deepseek2-tiny-q8_0.gguf"));
    ASSERT_TRUE(file.ok());
    auto model = models::LoadDeepseek2(std::move(file).value(), absorbed);
    ASSERT_TRUE(model.ok()) << model.status().message();
    if (pack) {
      ASSERT_TRUE((*model)->PackWeights(pool).ok());
      EXPECT_GT((*model)->pack_stats().matrices, 0);
    }
    logits.push_back(PrefillThenDecode(**model, pool));
  }
  EXPECT_EQ(std::memcmp(logits[0].data(), logits[1].data(), logits[0].size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace r1d

namespace r1d {
namespace {

TEST(PackedWeights, DescribePackingNamesWhatWasLeftOut) {
  kernels::PackStats stats;
  stats.matrices = 3;
  stats.bytes = 2 * 1048576 + 104858;
  EXPECT_EQ(models::DescribePacking(stats), "3 matrices packed (2.1 MiB)");
  stats.over_budget = 4;
  EXPECT_EQ(models::DescribePacking(stats),
            "3 matrices packed (2.1 MiB), 4 left in the file layout for lack of memory");
}

// Row order (`--fast-dots`) changes float rounding only: the logits are not the same bits as
// llama.cpp's order, but the distribution stays close. The tiny test models re-quantize
// activations before every product, which amplifies a rounding difference (one activation
// quant moving a step), so the bound is on probabilities, loose, and far from what a wrong
// product would give.
TEST(PackedWeights, RowOrderStaysCloseToTheReferenceOrder) {
  R1D_REQUIRE_TESTDATA();
  if (kernels::strip::GetPackedGemm(static_cast<int>(tensor::DType::kQ8_0)) == nullptr) {
    GTEST_SKIP() << "no packed product on this CPU";
  }
  ThreadPool pool(2);
  for (const char* name : kModels) {
    SCOPED_TRACE(name);
    models::LoadOptions row;
    row.row_order = true;
    auto exact = models::LoadModel(testing::FindTestModel(name));
    auto fast = models::LoadModel(testing::FindTestModel(name), row);
    ASSERT_TRUE(exact.ok() && fast.ok());
    const std::vector<float> want = PrefillThenDecode(**exact, pool);
    const std::vector<float> got = PrefillThenDecode(**fast, pool);
    EXPECT_NE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
        << "row order gave llama.cpp's bits: it did not run";
    const int64_t V = (*exact)->info().n_vocab;
    for (int step = 0; step < 2; ++step) {
      const std::vector<float> p = Softmax(want.data() + step * V, V);
      const std::vector<float> q = Softmax(got.data() + step * V, V);
      float worst = 0;
      for (int64_t i = 0; i < V; ++i) worst = std::max(worst, std::fabs(p[i] - q[i]));
      std::printf("  %s step %d: max |dp| = %.2e\n", name, step, worst);
      EXPECT_LT(worst, 1e-3f) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace r1d
