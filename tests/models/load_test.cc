// Loading maps the file and uses weights in place: nothing is copied before the first forward
// pass, except the quantized matrices packed at load, whose file pages are then given back.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "models/model.h"
#include "test_util.h"
#include "tiny_model.h"

namespace r1d {
namespace {

// Resident memory of one kind from /proc/self/status ("RssAnon" or "RssFile"), in bytes.
int64_t Resident(const std::string& kind) {
  std::ifstream status("/proc/self/status");
  std::string key;
  int64_t kb = 0;
  while (status >> key) {
    if (key == kind + ":") {
      status >> kb;
      return kb * 1024;
    }
  }
  return -1;
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_size;
}

TEST(ModelLoad, DoesNotCopyWeights) {
  R1D_REQUIRE_TESTDATA();
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's redzones and shadow memory distort resident-memory counts";
#endif
  // The biggest test models, so the vocabulary (~3 MB of strings) is small beside the weights.
  for (const char* name : {"qwen2-tiny-f16.gguf", "llama-tiny-f32.gguf"}) {
    SCOPED_TRACE(name);
    const std::string path = testing::FindTestModel(name);
    ASSERT_FALSE(path.empty());
    const int64_t file_size = FileSize(path);
    const int64_t anon_before = Resident("RssAnon"), file_before = Resident("RssFile");
    auto model = models::LoadModel(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    // Copied weights would be anonymous memory the size of the file; touching them in the
    // mapping would be file-backed. Only the metadata (vocabulary strings) and the header pages
    // may be resident.
    const int64_t anon = Resident("RssAnon") - anon_before;
    const int64_t mapped = Resident("RssFile") - file_before;
    EXPECT_LT(anon, file_size / 4) << "anonymous memory grew by " << anon << " bytes";
    EXPECT_LT(mapped, file_size / 4) << "mapped file pages grew by " << mapped << " bytes";
  }
}

// Packed quantized weights (Model::PackWeights) are a copy, but the file pages they were packed
// from are handed back: resident memory grows by about the packed bytes, not twice the file.
TEST(ModelLoad, PackedWeightsReplaceTheirFilePages) {
  R1D_REQUIRE_TESTDATA();
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's redzones and shadow memory distort resident-memory counts";
#endif
  const std::string path = testing::FindTestModel("qwen2-tiny-q8_0.gguf");
  const int64_t file_size = FileSize(path);
  const int64_t anon_before = Resident("RssAnon"), file_before = Resident("RssFile");
  auto model = models::LoadModel(path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const int64_t packed = (*model)->pack_stats().bytes;
  if (packed == 0) GTEST_SKIP() << "no packed product on this CPU";
  const int64_t anon = Resident("RssAnon") - anon_before;
  const int64_t mapped = Resident("RssFile") - file_before;
  // Allow the vocabulary strings and one huge page of rounding beside the packed copy.
  EXPECT_LT(anon, packed + (6 << 20)) << "anonymous memory grew by " << anon << " bytes";
  EXPECT_LT(mapped, file_size / 4) << "mapped file pages grew by " << mapped << " bytes";
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
  auto w = testing::TinyModelWriter({});
  w.SetString("general.architecture", "mamba");
  const std::string bytes = w.Finish();
  auto file = formats::GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                       "mamba.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto model = models::LoadModel(std::move(file).value());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("'mamba' is not supported"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace r1d
