// `r1d generate` end to end: the JSON contract, sampling determinism, and clear one-line errors
// (never a signal, never a hang, no huge allocation) for broken models and bad flags.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tiny_model.h"

namespace r1d {
namespace {

using nlohmann::json;
using testing::RunR1d;
using testing::RunR1dWith;
using testing::TinyModelSpec;
using testing::TinyModelWriter;

class GenerateCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    testing::WriteFile(path, bytes);
    return path;
  }
  std::string dir_;
};

// 2 GiB of address space and 10 s, as the malformed-file corpus is checked. Sanitizer builds
// reserve terabytes of shadow address space, so they run without the address-space limit.
std::string Limits() {
#if defined(__SANITIZE_ADDRESS__)
  return "timeout 10";
#else
  return "ulimit -v 2097152; timeout 10";
#endif
}

void ExpectCleanFailure(const testing::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.signal, 0) << "killed by signal; stderr: " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "error is not one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

json LastJsonLine(const std::string& out) {
  const size_t start = out.rfind('\n', out.size() - 2);
  return json::parse(start == std::string::npos ? out : out.substr(start + 1));
}

TEST_F(GenerateCli, JsonContract) {
  for (const char* arch : {"llama", "qwen2"}) {
    TinyModelSpec spec;
    spec.arch = arch;
    const std::string model = Write(std::string(arch) + ".gguf", TinyModelWriter(spec).Finish());
    auto r = RunR1d("generate -m " + model +
                    " --prompt-ids 1,5,9 -n 6 --temp 0 --n-probs 8 --json -t 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = LastJsonLine(r.out);
    EXPECT_EQ(j["prompt_tokens"], json({1, 5, 9}));
    ASSERT_LE(j["generated_tokens"].size(), 6u);
    ASSERT_EQ(j["top_probs"].size(), j["generated_tokens"].size());
    for (size_t i = 0; i < j["top_probs"].size(); ++i) {
      const json& step = j["top_probs"][i];
      ASSERT_EQ(step.size(), 8u);
      EXPECT_EQ(step[0][0], j["generated_tokens"][i]) << "greedy picks the most probable token";
      for (size_t k = 1; k < step.size(); ++k) EXPECT_LE(step[k][1], step[k - 1][1]);
    }
    // Without --prompt-ids the prompt is BOS alone.
    r = RunR1d("generate -m " + model + " -n 2 --temp 0 --json -t 1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(LastJsonLine(r.out)["prompt_tokens"], json({1}));
  }
}

TEST_F(GenerateCli, TiedOutputUsesTheEmbedding) {
  TinyModelSpec tied, copy;
  tied.output = TinyModelSpec::Output::kTied;
  copy.output = TinyModelSpec::Output::kCopyOfEmbedding;
  const std::string a = Write("tied.gguf", TinyModelWriter(tied).Finish());
  const std::string b = Write("copy.gguf", TinyModelWriter(copy).Finish());
  const std::string args = " --prompt-ids 1,7,9 -n 8 --temp 0 --n-probs 8 --json --ignore-eos";
  auto ra = RunR1d("generate -m " + a + args);
  auto rb = RunR1d("generate -m " + b + args);
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_EQ(LastJsonLine(ra.out), LastJsonLine(rb.out));
}

TEST_F(GenerateCli, RopeFrequencyFactorsAreApplied) {
  TinyModelSpec plain, scaled;
  scaled.rope_freqs = true;
  const std::string a = Write("plain.gguf", TinyModelWriter(plain).Finish());
  const std::string b = Write("scaled.gguf", TinyModelWriter(scaled).Finish());
  const std::string args = " --prompt-ids 1,7,9,11,13,17 -n 1 --temp 0 --n-probs 8 --json";
  auto ra = RunR1d("generate -m " + a + args);
  auto rb = RunR1d("generate -m " + b + args);
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  // Same weights; only the rotation angles differ, so the distribution must move.
  EXPECT_NE(LastJsonLine(ra.out)["top_probs"], LastJsonLine(rb.out)["top_probs"]);
}

TEST_F(GenerateCli, ThreadCountDoesNotChangeGreedyTokens) {
  const std::string model = Write("m.gguf", TinyModelWriter({}).Finish());
  auto one = RunR1d("generate -m " + model +
                    " --prompt-ids 1,2,3,4 -n 12 --temp 0 --json -t 1 --ignore-eos");
  auto two = RunR1d("generate -m " + model +
                    " --prompt-ids 1,2,3,4 -n 12 --temp 0 --json -t 2 --ignore-eos");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(LastJsonLine(one.out)["generated_tokens"], LastJsonLine(two.out)["generated_tokens"]);
}

TEST_F(GenerateCli, SameSeedSameTokens) {
  const std::string model = Write("m.gguf", TinyModelWriter({}).Finish());
  const std::string args = "generate -m " + model +
                           " --prompt-ids 1,2 -n 24 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 "
                           "--json --ignore-eos --seed ";
  auto a = RunR1d(args + "42");
  auto b = RunR1d(args + "42");
  auto c = RunR1d(args + "43");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(LastJsonLine(a.out)["generated_tokens"], LastJsonLine(b.out)["generated_tokens"]);
  EXPECT_NE(LastJsonLine(a.out)["generated_tokens"], LastJsonLine(c.out)["generated_tokens"]);
}

TEST_F(GenerateCli, BadFlagsGiveOneLineErrors) {
  const std::string model = Write("m.gguf", TinyModelWriter({}).Finish());
  ExpectCleanFailure(RunR1d("generate -m " + model + " --prompt-ids 1,x,3"), "--prompt-ids");
  ExpectCleanFailure(RunR1d("generate -m " + model + " --prompt-ids 1,64 --json"),
                     "outside the vocabulary");
  ExpectCleanFailure(RunR1d("generate -m " + model + " --temp -1"), "temperature");
  ExpectCleanFailure(RunR1d("generate -m " + model + " --prompt-ids 1,2,3 --ctx 2 --json"),
                     "context");
  ExpectCleanFailure(RunR1d("generate -m " + dir_ + "/missing.gguf"), "missing.gguf");
  // Text output needs a tokenizer; this model has none.
  ExpectCleanFailure(RunR1d("generate -m " + model + " -n 2"), "tokenizer.ggml.model");
}

struct Breakage {
  const char* name;
  const char* needle;  // expected in the error message
  void (*apply)(formats::GgufWriter&);
};

TEST_F(GenerateCli, BrokenModelsAreRefusedCleanly) {
  const Breakage cases[] = {
    {"zero_heads", "head_count",
     [](formats::GgufWriter& w) { w.SetUint32("llama.attention.head_count", 0); }},
    {"heads_not_dividing", "head_count",
     [](formats::GgufWriter& w) { w.SetUint32("llama.attention.head_count", 5); }},
    {"kv_heads_not_dividing", "head_count_kv",
     [](formats::GgufWriter& w) { w.SetUint32("llama.attention.head_count_kv", 3); }},
    {"missing_eps", "layer_norm_rms_epsilon",
     [](formats::GgufWriter& w) { w.SetString("llama.attention.layer_norm_rms_epsilon", "x"); }},
    {"wrong_embedding", "shape",
     [](formats::GgufWriter& w) { w.SetUint32("llama.embedding_length", 32); }},
    {"more_layers", "blk.2", [](formats::GgufWriter& w) { w.SetUint32("llama.block_count", 3); }},
    {"unknown_arch", "architecture",
     [](formats::GgufWriter& w) { w.SetString("general.architecture", "mamba"); }},
    {"odd_rope", "rope.dimension_count",
     [](formats::GgufWriter& w) { w.SetUint32("llama.rope.dimension_count", 7); }},
#if !defined(__SANITIZE_ADDRESS__)  // needs the address-space limit to fail
    {"huge_context", "KV cache",
     [](formats::GgufWriter& w) { w.SetUint32("llama.context_length", 1u << 24); }},
#endif
    {"huge_layers", "block_count",
     [](formats::GgufWriter& w) { w.SetUint32("llama.block_count", 0xFFFFFFFFu); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto w = TinyModelWriter({});
    c.apply(w);
    const std::string model = Write(std::string(c.name) + ".gguf", w.Finish());
    ExpectCleanFailure(RunR1dWith(Limits(), "generate -m " + model + " -n 4 --temp 0 --json"),
                       c.needle);
  }
}

TEST_F(GenerateCli, TruncatedAndCorruptFilesAreRefusedCleanly) {
  const std::string good = TinyModelWriter({}).Finish();
  for (size_t cut : {size_t{0}, size_t{4}, size_t{23}, good.size() / 3, good.size() - 1}) {
    SCOPED_TRACE(cut);
    const std::string model = Write("cut.gguf", good.substr(0, cut));
    ExpectCleanFailure(RunR1dWith(Limits(), "generate -m " + model + " -n 2"), "cut.gguf");
  }
}

}  // namespace
}  // namespace r1d

namespace r1d {
namespace {

// --fast-dots (row-order products): runs, and like the default its greedy tokens do not
// depend on the thread count; bench refuses it without packed weights.
TEST(FastDotsCli, GenerateRunsAndBenchNeedsPacking) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = testing::FindTestModel("qwen2-tiny-q4_k_m.gguf");
  const std::string args = "generate -m " + model +
                           " --prompt-ids 1,17,300,4000,5 -n 12 --temp 0 --json --ignore-eos "
                           "--fast-dots -t ";
  auto one = RunR1d(args + "1");
  auto two = RunR1d(args + "2");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(LastJsonLine(one.out)["generated_tokens"].size(), 12u);
  EXPECT_EQ(LastJsonLine(one.out)["generated_tokens"], LastJsonLine(two.out)["generated_tokens"]);
  auto bench = RunR1d("bench -m " + model + " -p 8 -n 2 -r 1 --no-pack --fast-dots");
  ExpectCleanFailure(bench, "--fast-dots needs packed weights");
}

}  // namespace
}  // namespace r1d
