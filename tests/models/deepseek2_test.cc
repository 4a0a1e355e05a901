// deepseek2 (MLA + MoE): batched passes equal separate ones, the absorbed decode agrees with the
// decompressing one, the latent cache size, and malformed files give one-line errors.
#include "models/deepseek2.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "formats/gguf_writer.h"
#include "models/model.h"
#include "test_util.h"

namespace r1d {
namespace {

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i] - b[i])));
  return worst;
}

TEST(Deepseek2, ReportsTheLatentCacheSize) {
  R1D_REQUIRE_TESTDATA();
  auto model = models::LoadModel(testing::FindTestModel("deepseek2-tiny-q8_0.gguf"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ((*model)->info().architecture, "deepseek2");
  EXPECT_EQ((*model)->info().n_layer, 3);
  // 3 layers x (kv_lora_rank 32 + rope 16) x 2 bytes: not 3 x 4 heads x (48 + 32) x 2.
  EXPECT_EQ((*model)->KvBytesPerToken(), 3 * (32 + 16) * 2);
}

TEST(Deepseek2, ForwardBatchMatchesSeparateSequences) {
  R1D_REQUIRE_TESTDATA();
  for (const char* name : {"deepseek2-tiny-q8_0.gguf", "deepseek2-tiny-f16.gguf"}) {
    SCOPED_TRACE(name);
    const std::string path = testing::FindTestModel(name);
    ASSERT_FALSE(path.empty()) << name << " not found (run scripts/make-test-models.sh)";
    auto loaded = models::LoadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    models::Model& model = **loaded;
    const int64_t V = model.info().n_vocab;
    ThreadPool pool(2);
    const std::vector<std::vector<int32_t>> prompts = {
        {1, 2, 3, 4, 5, 6, 7}, {100, 200}, {5000, 6000, 7000, 8000}};
    std::vector<std::vector<float>> want(prompts.size(), std::vector<float>(V));
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto st = model.NewSequence(64);
      ASSERT_TRUE(st.ok());
      const int64_t n = static_cast<int64_t>(prompts[i].size());
      ASSERT_TRUE(model.Forward(pool, **st, prompts[i].data(), n - 1, 0, want[i].data()).ok());
      ASSERT_TRUE(model.Forward(pool, **st, &prompts[i].back(), 1, n - 1, want[i].data()).ok());
    }
    std::vector<std::unique_ptr<models::SequenceState>> states;
    std::vector<std::vector<float>> got(prompts.size(), std::vector<float>(V));
    std::vector<models::BatchEntry> entries;
    for (size_t i = 0; i < prompts.size(); ++i) {
      states.push_back(std::move(model.NewSequence(64).value()));
      entries.push_back({states[i].get(), prompts[i].data(),
                         static_cast<int64_t>(prompts[i].size() - 1), 0, nullptr});
    }
    ASSERT_TRUE(model.ForwardBatch(pool, entries.data(), entries.size()).ok());
    for (size_t i = 0; i < prompts.size(); ++i) {
      entries[i] = {states[i].get(), &prompts[i].back(), 1,
                    static_cast<int64_t>(prompts[i].size() - 1), got[i].data()};
    }
    ASSERT_TRUE(model.ForwardBatch(pool, entries.data(), entries.size()).ok());
    for (size_t i = 0; i < prompts.size(); ++i) {
      // The F32 router and F16 products use a tiled order for batches (as llama.cpp), so the
      // last bits of a few products move; sequences never mix.
      EXPECT_LE(MaxAbsDiff(got[i], want[i]), 2e-2) << "sequence " << i;
    }
  }
}

// The absorbed decode (latent attention) and the decompressing one compute the same function.
TEST(Deepseek2, AbsorbedDecodeAgreesWithDecompression) {
  R1D_REQUIRE_TESTDATA();
  const std::string path = testing::FindTestModel("deepseek2-tiny-f16.gguf");
  ASSERT_FALSE(path.empty());
  std::vector<std::vector<float>> logits;
  for (int64_t budget : {int64_t{0}, int64_t{1} << 40}) {
    auto file = formats::GgufFile::Open(path);
    ASSERT_TRUE(file.ok());
    models::Deepseek2Options options;
    options.decompress_budget = budget;
    auto model = models::LoadDeepseek2(std::move(file).value(), options);
    ASSERT_TRUE(model.ok()) << model.status().message();
    ThreadPool pool(2);
    auto st = (*model)->NewSequence(600);
    ASSERT_TRUE(st.ok());
    std::vector<int32_t> prompt;
    for (int i = 0; i < 300; ++i) prompt.push_back((i * 7919) % 32000);
    std::vector<float> out((*model)->info().n_vocab);
    ASSERT_TRUE((*model)->Forward(pool, **st, prompt.data(), 300, 0, out.data()).ok());
    // Several decode steps (past 256 positions: two cache blocks).
    for (int64_t p = 300; p < 304; ++p) {
      const int32_t token = static_cast<int32_t>(p * 13);
      ASSERT_TRUE((*model)->Forward(pool, **st, &token, 1, p, out.data()).ok());
    }
    logits.push_back(out);
  }
  double scale = 0;
  for (float v : logits[1]) scale = std::max(scale, std::fabs(double(v)));
  EXPECT_GT(MaxAbsDiff(logits[0], logits[1]), 0.0);  // really two different paths
  EXPECT_LE(MaxAbsDiff(logits[0], logits[1]), 1e-2 * scale);
}

// Copies a GGUF, letting the caller drop tensors or change keys.
std::string CopyModel(const formats::GgufFile& src, const std::string& path,
                      const std::function<bool(const std::string&)>& keep_tensor,
                      const std::function<void(formats::GgufWriter&)>& edit) {
  formats::GgufWriter w;
  for (const auto& [key, value] : src.metadata()) EXPECT_TRUE(w.SetValue(key, value).ok()) << key;
  edit(w);
  for (const auto& t : src.tensors()) {
    if (!keep_tensor(t.name)) continue;
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    EXPECT_TRUE(w.AddTensor(t.name, t.type, ne,
                            std::string(reinterpret_cast<const char*>(t.data), t.n_bytes))
                    .ok());
  }
  EXPECT_TRUE(w.WriteFile(path).ok());
  return path;
}

class Deepseek2Malformed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestDataDir().empty()) GTEST_SKIP() << "../shared/testdata not found";
    auto f = formats::GgufFile::Open(testing::FindTestModel("deepseek2-tiny-q8_0.gguf"));
    ASSERT_TRUE(f.ok());
    src_ = std::move(f).value();
    dir_ = testing::MakeTempDir();
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  std::string Error(const std::function<bool(const std::string&)>& keep,
                    const std::function<void(formats::GgufWriter&)>& edit) {
    const std::string path = CopyModel(*src_, dir_ + "/m.gguf", keep, edit);
    auto model = models::LoadModel(path);
    if (model.ok()) return "";
    EXPECT_EQ(model.status().message().find('\n'), std::string::npos);
    return model.status().message();
  }
  std::unique_ptr<formats::GgufFile> src_;
  std::string dir_;
};

auto kKeepAll = [](const std::string&) { return true; };
auto kNoEdit = [](formats::GgufWriter&) {};

TEST_F(Deepseek2Malformed, TheUnchangedCopyLoads) { EXPECT_EQ(Error(kKeepAll, kNoEdit), ""); }

TEST_F(Deepseek2Malformed, MissingTensor) {
  for (const char* name : {"blk.1.ffn_up_exps.weight", "blk.2.attn_kv_b.weight",
                           "blk.0.attn_q_a_norm.weight", "blk.2.ffn_down_shexp.weight"}) {
    const std::string e = Error([&](const std::string& t) { return t != name; }, kNoEdit);
    EXPECT_NE(e.find(std::string("missing tensor '") + name + "'"), std::string::npos) << e;
  }
}

TEST_F(Deepseek2Malformed, BadExpertCounts) {
  // The expert tensors hold 8 experts: 16 does not match their shape.
  std::string e =
      Error(kKeepAll, [](formats::GgufWriter& w) { w.SetUint32("deepseek2.expert_count", 16); });
  EXPECT_NE(e.find("ffn_gate_inp.weight' has shape"), std::string::npos) << e;
  e = Error(kKeepAll, [](formats::GgufWriter& w) { w.SetUint32("deepseek2.expert_count", 0); });
  EXPECT_NE(e.find("expert_count"), std::string::npos) << e;
  e = Error(kKeepAll,
            [](formats::GgufWriter& w) { w.SetUint32("deepseek2.expert_used_count", 9); });
  EXPECT_NE(e.find("expert_used_count 9 exceeds expert_count 8"), std::string::npos) << e;
  e = Error(kKeepAll,
            [](formats::GgufWriter& w) { w.SetUint32("deepseek2.expert_group_count", 3); });
  EXPECT_NE(e.find("expert_group_count 3"), std::string::npos) << e;
  e = Error(kKeepAll,
            [](formats::GgufWriter& w) { w.SetUint32("deepseek2.expert_gating_func", 7); });
  EXPECT_NE(e.find("expert_gating_func 7 is not supported"), std::string::npos) << e;
}

TEST_F(Deepseek2Malformed, BadAttentionKeys) {
  std::string e = Error(kKeepAll, [](formats::GgufWriter& w) {
    w.SetUint32("deepseek2.attention.kv_lora_rank", 64);
  });
  EXPECT_NE(e.find("attn_kv_a_mqa.weight' has shape"), std::string::npos) << e;
  e = Error(kKeepAll,
            [](formats::GgufWriter& w) { w.SetUint32("deepseek2.rope.dimension_count", 48); });
  EXPECT_NE(e.find("rope.dimension_count 48"), std::string::npos) << e;
  e = Error(kKeepAll,
            [](formats::GgufWriter& w) { w.SetString("deepseek2.rope.scaling.type", "yarn"); });
  EXPECT_NE(e.find("rope.scaling.factor"), std::string::npos) << e;
  // Without q_lora_rank the file must have attn_q (V2-Lite layout).
  e = Error(kKeepAll,
            [](formats::GgufWriter& w) { w.SetUint32("deepseek2.attention.q_lora_rank", 0); });
  EXPECT_NE(e.find("missing tensor 'blk.0.attn_q.weight'"), std::string::npos) << e;
}

}  // namespace
}  // namespace r1d
