// `r1d plan`: weights and KV cache bytes for a context and parallel sequences.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/gguf_reader.h"
#include "test_util.h"

namespace r1d {
namespace {

using nlohmann::json;

struct Expected {
  uint64_t weights = 0;
  uint64_t kv_per_token = 0;
};

// The numbers from the file's metadata, by the formulas (not through the model code).
Expected FromFile(const std::string& path) {
  auto f = formats::GgufFile::Open(path);
  EXPECT_TRUE(f.ok());
  Expected e;
  for (const auto& t : (*f)->tensors()) e.weights += t.n_bytes;
  const std::string arch = (*f)->GetString("general.architecture").value();
  auto u = [&](const std::string& key) { return (*f)->GetUint(arch + "." + key).value(); };
  if (arch == "deepseek2") {
    // MLA: the latent plus the shared RoPE key, 2 bytes each, per layer.
    e.kv_per_token =
        u("block_count") * (u("attention.kv_lora_rank") + u("rope.dimension_count")) * 2;
  } else {
    const uint64_t head_dim = u("embedding_length") / u("attention.head_count");
    e.kv_per_token = 2 * u("block_count") * u("attention.head_count_kv") * head_dim * 2;
  }
  return e;
}

TEST(PlanCli, ReportsWeightsAndKvBytes) {
  R1D_REQUIRE_TESTDATA();
  for (const char* name : {"deepseek2-tiny-q8_0.gguf", "qwen2-tiny-f16.gguf"}) {
    SCOPED_TRACE(name);
    const std::string model = testing::FindTestModel(name);
    const Expected want = FromFile(model);
    auto r = testing::RunR1d("plan -m " + model + " --ctx 1000 --parallel 3 --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json got = json::parse(r.out);
    EXPECT_EQ(got["weights_bytes"].get<uint64_t>(), want.weights);
    EXPECT_EQ(got["kv_bytes_per_token"].get<uint64_t>(), want.kv_per_token);
    EXPECT_EQ(got["kv_bytes"].get<uint64_t>(), want.kv_per_token * 1000 * 3);
    EXPECT_EQ(got["total_bytes"].get<uint64_t>(), want.weights + want.kv_per_token * 3000);
    EXPECT_GT(got["ram_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(got["fits"].get<bool>(),
              got["total_bytes"].get<uint64_t>() <= got["ram_bytes"].get<uint64_t>());
  }
  // The deepseek2 tiny model: 3 layers x (32 + 16) x 2.
  EXPECT_EQ(FromFile(testing::FindTestModel("deepseek2-tiny-q8_0.gguf")).kv_per_token, 288u);
}

TEST(PlanCli, TextOutputAndHugeContexts) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = testing::FindTestModel("deepseek2-tiny-q8_0.gguf");
  auto r = testing::RunR1d("plan -m " + model);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kv bytes per token: 288\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fits:               yes"), std::string::npos) << r.out;
  // A context no machine holds: reported as not fitting, not an error.
  r = testing::RunR1d("plan -m " + model + " --ctx 1000000000000 --parallel 1000 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(json::parse(r.out)["fits"].get<bool>());
}

TEST(PlanCli, BadInputIsOneLineError) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = testing::FindTestModel("deepseek2-tiny-q8_0.gguf");
  for (const std::string& args : std::vector<std::string>{
           "plan -m " + model + " --parallel 0", std::string("plan -m /nonexistent/model.gguf"),
           "plan -m " + model + " --ctx -5",
           "plan -m " + model + " --ctx 100000000000000000 --parallel 1000000"}) {
    auto r = testing::RunR1d(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err.rfind("r1d: error: ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

}  // namespace
}  // namespace r1d
