// Loading maps the file and uses weights in place: nothing is copied before the first forward pass.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "models/model.h"
#include "test_util.h"

namespace r1d {
namespace {

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

TEST(ModelLoad, DoesNotCopyWeights) {
  R1D_REQUIRE_TESTDATA();
  for (const char* name : {"qwen2-tiny-f16.gguf", "qwen2-tiny-q8_0.gguf"}) {
    SCOPED_TRACE(name);
    const std::string path = testing::FindTestModel(name);
    ASSERT_FALSE(path.empty());
    const int64_t file_size = static_cast<int64_t>(testing::ReadFile(path).size());
    const int64_t before = ResidentBytes();
    auto model = models::LoadModel(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const int64_t grown = ResidentBytes() - before;
    // Only the header, tensor table and small norm vectors may be touched.
    EXPECT_LT(grown, file_size / 10) << "resident memory grew by " << grown << " bytes";
  }
}

TEST(ModelLoad, ReportsHyperParameters) {
  R1D_REQUIRE_TESTDATA();
  auto model = models::LoadModel(testing::FindTestModel("qwen2-tiny-f16.gguf"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const models::ModelInfo& info = (*model)->info();
  EXPECT_EQ(info.architecture, "qwen2");
  EXPECT_EQ(info.n_vocab, 32256);
  EXPECT_EQ(info.n_embd, 256);
  EXPECT_EQ(info.n_layer, 4);
  EXPECT_EQ(info.n_head, 4);
  EXPECT_EQ(info.n_head_kv, 2);
  EXPECT_EQ(info.head_dim, 64);
  EXPECT_EQ(info.n_ctx_train, 4096);
}

TEST(ModelLoad, RefusesAnUnsupportedArchitectureByName) {
  R1D_REQUIRE_TESTDATA();
  auto model = models::LoadModel(testing::FindTestModel("deepseek2-tiny-q8_0.gguf"));
  if (model.ok()) GTEST_SKIP() << "deepseek2 is supported now";
  EXPECT_NE(model.status().message().find("deepseek2"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace r1d
