// r1d synth --arch deepseek2, end to end: cut-down deepseek-v2-lite and deepseek-v3-mini files
// (real per-block sizes and vocabularies, fewer blocks so the test stays fast) carry the keys and
// tensors of published deepseek2 GGUFs, follow llama.cpp's quantization mixture, load in
// `r1d plan` with the MLA cache size and generate; bad arguments get clear errors.
#include <gtest/gtest.h>

#include <filesystem>
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

class SynthDeepseek2 : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  // The files are about a gigabyte each: do not leave them in /tmp.
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

const formats::GgufTensorInfo* Tensor(const formats::GgufFile& f, const std::string& name) {
  const formats::GgufTensorInfo* t = f.FindTensor(name);
  EXPECT_NE(t, nullptr) << name;
  return t;
}

DType TypeOf(const formats::GgufFile& f, const std::string& name) {
  const formats::GgufTensorInfo* t = Tensor(f, name);
  return t ? t->type : DType::kF32;
}

std::vector<int64_t> ShapeOf(const formats::GgufFile& f, const std::string& name) {
  const formats::GgufTensorInfo* t = Tensor(f, name);
  return t ? std::vector<int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims)
           : std::vector<int64_t>{};
}

uint64_t Key(const formats::GgufFile& f, const std::string& key) {
  auto v = f.GetUint("deepseek2." + key);
  EXPECT_TRUE(v.ok()) << key;
  return v.ok() ? *v : 0;
}

// `r1d plan`'s KV bytes per token must be the MLA formula: per block, the latent plus the shared
// RoPE key, 2 bytes each. Then a few greedy tokens.
void PlanAndGenerate(const std::string& model, uint64_t layers, uint64_t kv_lora, uint64_t rope) {
  auto r = RunR1d("plan -m " + model + " --ctx 4096 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json plan = json::parse(r.out);
  EXPECT_EQ(plan["architecture"], "deepseek2");
  EXPECT_EQ(plan["kv_bytes_per_token"].get<uint64_t>(), (kv_lora + rope) * layers * 2);

  r = RunR1d("generate -m " + model +
             " --prompt-ids 5,17,42 -n 3 --temp 0 --json -t 2 --ignore-eos --ctx 64");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t start = r.out.rfind('\n', r.out.size() - 2);
  const json j = json::parse(start == std::string::npos ? r.out : r.out.substr(start + 1));
  EXPECT_EQ(j["generated_tokens"].size(), 3u) << r.out;
}

TEST(QuantMixDeepseek2, FollowsLlamaCpp) {
  const tensor::QuantTarget q4km = *tensor::ParseQuantTarget("q4_k_m");
  auto type = [&](const std::string& name, std::vector<int64_t> ne) {
    return tensor::ChooseTensorType(q4km, name, ne, 27, true);
  };
  // 27 blocks: UseMoreBits picks 0..2, 5, 8, ..., 20 and 23..26.
  EXPECT_EQ(type("blk.0.attn_kv_b.weight", {512, 4096}), DType::kQ6_K);
  EXPECT_EQ(type("blk.3.attn_kv_b.weight", {512, 4096}), DType::kQ4_K);
  EXPECT_EQ(type("blk.5.ffn_down_shexp.weight", {2816, 2048}), DType::kQ6_K);
  EXPECT_EQ(type("blk.4.ffn_down_shexp.weight", {2816, 2048}), DType::kQ4_K);
  // Expert rows of 1408 fit neither q4_K nor q6_K: q5_0 / q8_0 as llama.cpp falls back.
  EXPECT_EQ(type("blk.4.ffn_down_exps.weight", {1408, 2048, 64}), DType::kQ5_0);
  EXPECT_EQ(type("blk.5.ffn_down_exps.weight", {1408, 2048, 64}), DType::kQ8_0);
  EXPECT_EQ(type("blk.4.ffn_gate_exps.weight", {2048, 1408, 64}), DType::kQ4_K);
  // The router is never quantized; biases have one dimension.
  EXPECT_EQ(type("blk.4.ffn_gate_inp.weight", {2048, 64}), std::nullopt);
  EXPECT_EQ(tensor::ChooseTensorType(*tensor::ParseQuantTarget("f16"), "blk.4.ffn_gate_inp.weight",
                                     {2048, 64}, 27, true),
            std::nullopt);
  EXPECT_EQ(type("blk.4.exp_probs_b.bias", {64}), std::nullopt);
}

TEST_F(SynthDeepseek2, V2LiteCutDownLoadsAndGenerates) {
  const std::string out = Path("v2lite.gguf");
  auto r = RunR1d("synth --arch deepseek2 --shape deepseek-v2-lite --type q4_k_m --layers 2 -o " +
                  out + " -t 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("deepseek-v2-lite (2 blocks) q4_k_m"), std::string::npos) << r.err;
  {
    auto opened = formats::GgufFile::Open(out);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    const formats::GgufFile& f = **opened;
    EXPECT_EQ(*f.GetString("general.architecture"), "deepseek2");
    EXPECT_EQ(Key(f, "block_count"), 2u);
    EXPECT_EQ(Key(f, "leading_dense_block_count"), 1u);
    EXPECT_EQ(Key(f, "embedding_length"), 2048u);
    EXPECT_EQ(Key(f, "feed_forward_length"), 10944u);
    EXPECT_EQ(Key(f, "attention.head_count"), 16u);
    EXPECT_EQ(Key(f, "attention.head_count_kv"), 16u);
    EXPECT_FALSE(f.Has("deepseek2.attention.q_lora_rank"));
    EXPECT_EQ(Key(f, "attention.kv_lora_rank"), 512u);
    EXPECT_EQ(Key(f, "attention.key_length"), 192u);
    EXPECT_EQ(Key(f, "attention.value_length"), 128u);
    EXPECT_EQ(Key(f, "rope.dimension_count"), 64u);
    EXPECT_EQ(Key(f, "expert_count"), 64u);
    EXPECT_EQ(Key(f, "expert_used_count"), 6u);
    EXPECT_EQ(Key(f, "expert_shared_count"), 2u);
    EXPECT_EQ(Key(f, "expert_feed_forward_length"), 1408u);
    EXPECT_EQ(Key(f, "expert_gating_func"), 1u);
    EXPECT_FALSE(*f.GetBool("deepseek2.expert_weights_norm"));
    EXPECT_FLOAT_EQ(*f.GetFloat("deepseek2.expert_weights_scale"), 1.0);
    EXPECT_EQ(*f.GetString("deepseek2.rope.scaling.type"), "yarn");
    EXPECT_FLOAT_EQ(*f.GetFloat("deepseek2.rope.scaling.factor"), 40.0);
    EXPECT_EQ(Key(f, "rope.scaling.original_context_length"), 4096u);
    EXPECT_EQ(Key(f, "context_length"), 163840u);
    EXPECT_EQ(Key(f, "vocab_size"), 102400u);

    EXPECT_EQ(ShapeOf(f, "blk.0.attn_q.weight"), (std::vector<int64_t>{2048, 3072}));
    EXPECT_EQ(f.FindTensor("blk.0.attn_q_a.weight"), nullptr);
    EXPECT_EQ(ShapeOf(f, "blk.0.attn_kv_a_mqa.weight"), (std::vector<int64_t>{2048, 576}));
    EXPECT_EQ(ShapeOf(f, "blk.0.attn_kv_b.weight"), (std::vector<int64_t>{512, 4096}));
    EXPECT_EQ(ShapeOf(f, "blk.0.ffn_down.weight"), (std::vector<int64_t>{10944, 2048}));
    EXPECT_EQ(f.FindTensor("blk.0.ffn_gate_inp.weight"), nullptr);
    EXPECT_EQ(ShapeOf(f, "blk.1.ffn_gate_exps.weight"), (std::vector<int64_t>{2048, 1408, 64}));
    EXPECT_EQ(ShapeOf(f, "blk.1.ffn_down_exps.weight"), (std::vector<int64_t>{1408, 2048, 64}));
    EXPECT_EQ(ShapeOf(f, "blk.1.ffn_up_shexp.weight"), (std::vector<int64_t>{2048, 2816}));
    EXPECT_EQ(f.FindTensor("blk.1.exp_probs_b.bias"), nullptr);
    EXPECT_EQ(f.FindTensor("blk.1.ffn_gate.weight"), nullptr);

    // q4_k_m over 2 blocks: UseMoreBits picks block 1 only; rows of 10944 and 1408 fit no
    // k-quant and fall back (q4_K -> q5_0, q6_K -> q8_0).
    EXPECT_EQ(TypeOf(f, "output.weight"), DType::kQ6_K);
    EXPECT_EQ(TypeOf(f, "token_embd.weight"), DType::kQ4_K);
    EXPECT_EQ(TypeOf(f, "blk.0.attn_q.weight"), DType::kQ4_K);
    EXPECT_EQ(TypeOf(f, "blk.0.attn_kv_b.weight"), DType::kQ4_K);
    EXPECT_EQ(TypeOf(f, "blk.1.attn_kv_b.weight"), DType::kQ6_K);
    EXPECT_EQ(TypeOf(f, "blk.0.ffn_gate.weight"), DType::kQ4_K);
    EXPECT_EQ(TypeOf(f, "blk.0.ffn_down.weight"), DType::kQ5_0);
    EXPECT_EQ(TypeOf(f, "blk.1.ffn_down_exps.weight"), DType::kQ8_0);
    EXPECT_EQ(TypeOf(f, "blk.1.ffn_up_exps.weight"), DType::kQ4_K);
    EXPECT_EQ(TypeOf(f, "blk.1.ffn_down_shexp.weight"), DType::kQ6_K);
    EXPECT_EQ(TypeOf(f, "blk.1.ffn_gate_inp.weight"), DType::kF32);
    EXPECT_EQ(TypeOf(f, "blk.1.attn_kv_a_norm.weight"), DType::kF32);

    auto tok = tokenizer::LoadTokenizer(f);
    ASSERT_TRUE(tok.ok()) << tok.status().message();
    EXPECT_EQ((*tok)->n_vocab(), 102400);
    EXPECT_EQ((*tok)->pre(), "deepseek-llm");
    EXPECT_EQ((*tok)->bos(), 100000);
    EXPECT_EQ((*tok)->eos(), 100001);
    const std::string text = "User: hello world, the answer is 42\n\nAssistant:";
    EXPECT_EQ((*tok)->Decode((*tok)->Encode(text, false, true)), text);
  }
  PlanAndGenerate(out, 2, 512, 64);
}

TEST_F(SynthDeepseek2, V3MiniCutDownLoadsAndGenerates) {
  const std::string out = Path("v3mini.gguf");
  auto r = RunR1d("synth --shape deepseek-v3-mini --type q8_0 --layers 4 -o " + out + " -t 2 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    auto opened = formats::GgufFile::Open(out);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    const formats::GgufFile& f = **opened;
    EXPECT_EQ(Key(f, "block_count"), 4u);
    EXPECT_EQ(Key(f, "leading_dense_block_count"), 3u);
    EXPECT_EQ(Key(f, "attention.q_lora_rank"), 768u);
    EXPECT_EQ(Key(f, "attention.kv_lora_rank"), 512u);
    EXPECT_EQ(Key(f, "expert_count"), 64u);
    EXPECT_EQ(Key(f, "expert_used_count"), 8u);
    EXPECT_EQ(Key(f, "expert_shared_count"), 1u);
    EXPECT_EQ(Key(f, "expert_group_count"), 8u);
    EXPECT_EQ(Key(f, "expert_group_used_count"), 4u);
    EXPECT_EQ(Key(f, "expert_gating_func"), 2u);
    EXPECT_TRUE(*f.GetBool("deepseek2.expert_weights_norm"));
    EXPECT_FLOAT_EQ(*f.GetFloat("deepseek2.expert_weights_scale"), 2.5);
    EXPECT_EQ(Key(f, "vocab_size"), 129280u);

    EXPECT_EQ(f.FindTensor("blk.0.attn_q.weight"), nullptr);
    EXPECT_EQ(ShapeOf(f, "blk.0.attn_q_a.weight"), (std::vector<int64_t>{2048, 768}));
    EXPECT_EQ(ShapeOf(f, "blk.0.attn_q_a_norm.weight"), (std::vector<int64_t>{768}));
    EXPECT_EQ(ShapeOf(f, "blk.0.attn_q_b.weight"), (std::vector<int64_t>{768, 3072}));
    EXPECT_EQ(ShapeOf(f, "blk.2.ffn_up.weight"), (std::vector<int64_t>{2048, 5632}));
    EXPECT_EQ(ShapeOf(f, "blk.3.exp_probs_b.bias"), (std::vector<int64_t>{64}));
    EXPECT_EQ(ShapeOf(f, "blk.3.ffn_gate_exps.weight"), (std::vector<int64_t>{2048, 512, 64}));
    EXPECT_EQ(ShapeOf(f, "blk.3.ffn_down_shexp.weight"), (std::vector<int64_t>{512, 2048}));
    EXPECT_EQ(TypeOf(f, "blk.3.exp_probs_b.bias"), DType::kF32);
    EXPECT_EQ(TypeOf(f, "blk.3.ffn_gate_inp.weight"), DType::kF32);
    EXPECT_EQ(TypeOf(f, "blk.3.ffn_gate_exps.weight"), DType::kQ8_0);
    EXPECT_EQ(TypeOf(f, "output.weight"), DType::kQ8_0);

    auto tok = tokenizer::LoadTokenizer(f);
    ASSERT_TRUE(tok.ok()) << tok.status().message();
    EXPECT_EQ((*tok)->n_vocab(), 129280);
    EXPECT_EQ((*tok)->pre(), "deepseek-v3");
    EXPECT_EQ((*tok)->bos(), 0);
    EXPECT_EQ((*tok)->eos(), 1);
    // R1's specials at R1's ids.
    EXPECT_EQ((*tok)->Encode("<｜User｜>hi<｜Assistant｜><think>", false, true).front(), 128803);
    EXPECT_EQ((*tok)->Encode("<think>", false, true), (std::vector<int32_t>{128798}));
    EXPECT_EQ((*tok)->Encode("</think>", false, true), (std::vector<int32_t>{128799}));
    const std::string text = "hello world, the answer is 42";
    const std::vector<int32_t> ids = (*tok)->Encode(text, true, true);
    EXPECT_EQ(ids.front(), 0);
    EXPECT_EQ((*tok)->Decode(std::vector<int32_t>(ids.begin() + 1, ids.end())), text);
  }
  PlanAndGenerate(out, 4, 512, 64);
}

TEST_F(SynthDeepseek2, BadArgumentsGetClearErrors) {
  auto r = RunR1d("synth --arch deepseek2 --shape deepseek-v4 -o " + Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown --shape 'deepseek-v4'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deepseek-v2-lite"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deepseek-v3-mini"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tiny"), std::string::npos) << r.err;

  r = RunR1d("synth --arch llama --shape deepseek-v2-lite -o " + Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a deepseek2 model, not --arch llama"), std::string::npos) << r.err;

  r = RunR1d("synth --arch deepseek2 --shape tiny -o " + Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("deepseek2 shapes: deepseek-v2-lite, deepseek-v3-mini"), std::string::npos)
      << r.err;

  r = RunR1d("synth --shape deepseek-v3-mini --layers 0 -o " + Path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--layers 0 is out of range"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(Path("x.gguf")));

  r = RunR1d("synth --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("deepseek-v3-mini"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--layers"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace r1d
