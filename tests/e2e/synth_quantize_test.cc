// r1d synth and r1d quantize, end to end: synthetic models of every type load and generate,
// their tokenizer loads, quantized models follow llama.cpp's mixtures and stay close to the
// source, and quantize refuses what it should.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "formats/gguf_reader.h"
#include "tensor/quant_mix.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace r1d {
namespace {

using nlohmann::json;
using tensor::DType;
using testing::RunR1d;

class SynthQuantize : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

json LastJsonLine(const std::string& out) {
  const size_t start = out.rfind('\n', out.size() - 2);
  return json::parse(start == std::string::npos ? out : out.substr(start + 1));
}

std::map<std::string, DType> TensorTypes(const std::string& path) {
  auto f = formats::GgufFile::Open(path);
  EXPECT_TRUE(f.ok()) << f.status().message();
  std::map<std::string, DType> types;
  if (f.ok())
    for (const auto& t : (*f)->tensors()) types[t.name] = t.type;
  return types;
}

json Generate(const std::string& model, int n) {
  auto r = RunR1d("generate -m " + model + " --prompt-ids 5,17,42 -n " + std::to_string(n) +
                  " --temp 0 --n-probs 4 --json -t 2 --ignore-eos");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? LastJsonLine(r.out) : json();
}

TEST(QuantMix, UseMoreBitsMatchesLlamaCpp) {
  // 28 layers: first eighth (0..2), last eighth (24..27), and 5, 8, ..., 23 in between.
  std::vector<int> picked;
  for (int i = 0; i < 28; ++i)
    if (tensor::UseMoreBits(i, 28)) picked.push_back(i);
  EXPECT_EQ(picked, (std::vector<int>{0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27}));
  EXPECT_EQ(tensor::LayerOf("blk.17.attn_v.weight"), 17);
  EXPECT_EQ(tensor::LayerOf("output.weight"), -1);
  EXPECT_FALSE(tensor::ParseQuantTarget("q3_k_m").has_value());
}

TEST_F(SynthQuantize, TinyModelOfEveryTypeLoadsAndGenerates) {
  for (const char* type : {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"}) {
    for (const char* arch : {"qwen2", "llama"}) {
      SCOPED_TRACE(std::string(arch) + " " + type);
      const std::string out = Path(std::string(arch) + "-" + type + ".gguf");
      auto r = RunR1d(std::string("synth --shape tiny --arch ") + arch + " --type " + type +
                      " -o " + out + " --seed 3 -t 2");
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.err.find("output.weight"), std::string::npos) << "progress lines: " << r.err;
      json j = Generate(out, 3);
      ASSERT_EQ(j["generated_tokens"].size(), 3u);

      auto f = formats::GgufFile::Open(out);
      ASSERT_TRUE(f.ok()) << f.status().message();
      EXPECT_EQ(*(*f)->GetString("general.architecture"), arch);
      EXPECT_EQ(*(*f)->GetUint("general.quantization_version"), 2u);
      EXPECT_EQ(*(*f)->GetUint("general.file_type"),
                static_cast<uint32_t>(tensor::ParseQuantTarget(type)->file_type));
      auto tok = tokenizer::LoadTokenizer(**f);
      ASSERT_TRUE(tok.ok()) << tok.status().message();
      const std::vector<int32_t> ids =
          (*tok)->Encode("<think>\nhello world, the answer is 42</think>", false, true);
      EXPECT_LT(ids.size(), 40u) << "seed words merge into multi-byte tokens";
      EXPECT_EQ((*tok)->Decode(ids), "<think>\nhello world, the answer is 42</think>");
      EXPECT_EQ((*f)->FindTensor("rope_freqs.weight") != nullptr, std::string(arch) == "llama");
    }
  }
}

TEST_F(SynthQuantize, SynthQ4KMFollowsTheMixture) {
  const std::string out = Path("q4km.gguf");
  auto r = RunR1d("synth --shape tiny --type q4_k_m -o " + out + " -t 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto types = TensorTypes(out);
  EXPECT_EQ(types["token_embd.weight"], DType::kQ4_K);
  EXPECT_EQ(types["output.weight"], DType::kQ6_K);
  EXPECT_EQ(types["blk.0.attn_q.weight"], DType::kQ4_K);
  EXPECT_EQ(types["blk.0.attn_q.bias"], DType::kF32);
  EXPECT_EQ(types["blk.0.attn_norm.weight"], DType::kF32);
  // 4 layers: use_more_bits picks layers 2 and 3.
  EXPECT_EQ(types["blk.1.attn_v.weight"], DType::kQ4_K);
  EXPECT_EQ(types["blk.2.attn_v.weight"], DType::kQ6_K);
  EXPECT_EQ(types["blk.3.attn_v.weight"], DType::kQ6_K);
  // ffn_down rows have 320 elements (not a multiple of 256): llama.cpp's fallbacks.
  EXPECT_EQ(types["blk.1.ffn_down.weight"], DType::kQ5_0);
  EXPECT_EQ(types["blk.2.ffn_down.weight"], DType::kQ8_0);
}

TEST_F(SynthQuantize, QuantizeFollowsMixturesAndStaysClose) {
  const std::string src = Path("src.gguf");
  auto r = RunR1d("synth --shape tiny --type f16 -o " + src + " -t 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json ref = Generate(src, 4);
  ASSERT_EQ(ref["generated_tokens"].size(), 4u);
  for (const char* type : {"q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"}) {
    SCOPED_TRACE(type);
    const std::string out = Path(std::string("out-") + type + ".gguf");
    r = RunR1d("quantize " + src + " " + out + " --type " + type + " -t 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("f16 -> "), std::string::npos) << r.err;
    auto types = TensorTypes(out);
    EXPECT_EQ(types["blk.0.attn_norm.weight"], DType::kF32);
    const std::string t = type;
    if (t == "q8_0") {
      EXPECT_EQ(types["output.weight"], DType::kQ8_0);
      EXPECT_EQ(types["blk.0.ffn_down.weight"], DType::kQ8_0);
    } else {
      EXPECT_EQ(types["output.weight"], DType::kQ6_K);
    }
    if (t == "q4_0") {
      EXPECT_EQ(types["token_embd.weight"], DType::kQ4_0);
    }
    if (t == "q4_k_m") {
      EXPECT_EQ(types["blk.1.attn_v.weight"], DType::kQ4_K);
      EXPECT_EQ(types["blk.3.attn_v.weight"], DType::kQ6_K);
    }
    if (t == "q5_k_m") {
      EXPECT_EQ(types["blk.1.attn_v.weight"], DType::kQ5_K);
      EXPECT_EQ(types["blk.1.ffn_down.weight"], DType::kQ5_1);
    }
    if (t == "q6_k") {
      EXPECT_EQ(types["blk.0.ffn_down.weight"], DType::kQ8_0);
    }
    // All metadata copied (the tokenizer too), file type updated.
    auto f = formats::GgufFile::Open(out);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*(*f)->GetUint("general.file_type"),
              static_cast<uint32_t>(tensor::ParseQuantTarget(type)->file_type));
    EXPECT_TRUE(tokenizer::LoadTokenizer(**f).ok());
    const json j = Generate(out, 4);
    ASSERT_EQ(j["generated_tokens"].size(), 4u);
    if (t == "q8_0") {
      // q8_0 is close to f16: the first greedy token agrees and its probability is near.
      EXPECT_EQ(j["generated_tokens"][0], ref["generated_tokens"][0]);
      EXPECT_NEAR(j["top_probs"][0][0][1].get<double>(), ref["top_probs"][0][0][1].get<double>(),
                  0.05);
    }
  }
}

TEST_F(SynthQuantize, QuantizeRefusals) {
  const std::string src = Path("src.gguf");
  auto r = RunR1d("synth --shape tiny --type q4_0 -o " + src + " -t 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunR1d("quantize " + src + " " + Path("x.gguf") + " --type q3_k_m");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown --type"), std::string::npos) << r.err;
  r = RunR1d("quantize " + src + " " + src + " --type q8_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
  r = RunR1d("quantize " + src + " " + Path("x.gguf") + " --type q8_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--allow-requantize"), std::string::npos) << r.err;
  r = RunR1d("quantize " + src + " " + Path("x.gguf") + " --type q8_0 --allow-requantize -t 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(TensorTypes(Path("x.gguf"))["blk.0.attn_q.weight"], DType::kQ8_0);
  r = RunR1d("synth --shape r1-distill-qwen-1.5b --arch llama --type q8_0 -o " + Path("y.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a qwen2 model"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace r1d
