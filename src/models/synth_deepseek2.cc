#include "models/synth_deepseek2.h"

namespace r1d::models {
namespace {

constexpr const char* kV2Lite = "deepseek-v2-lite";
constexpr const char* kV3Mini = "deepseek-v3-mini";

}  // namespace

const char* Deepseek2SynthShapeNames() { return "deepseek-v2-lite, deepseek-v3-mini"; }

std::optional<SynthShape> FindDeepseek2SynthShape(const std::string& name) {
  SynthShape s;
  if (name == kV2Lite) {
    // DeepSeek-V2-Lite as published (config.json of deepseek-ai/DeepSeek-V2-Lite): 15.7B
    // parameters, 2.4B active. No q_lora (plain attn_q), softmax routing of 6 of 64 experts
    // without groups, 2 shared experts, one leading dense block, YaRN x40 from 4096 positions
    // with mscale_all_dim 0.707. The layer count also matters to llama.cpp, which recognises
    // V2-Lite by its 27 blocks.
    s = {name,   "deepseek2", 27,     2048,     10944, 16,    16,
         102400, 100000,      163840, 10000.0f, 1e-6f, false, SynthVocabLayout::kDeepseekLlm};
    s.deepseek2 = SynthDeepseek2{/*n_dense_lead=*/1,
                                 /*q_lora_rank=*/0,
                                 /*kv_lora_rank=*/512,
                                 /*nope=*/128,
                                 /*rope=*/64,
                                 /*v_head=*/128,
                                 /*n_expert=*/64,
                                 /*n_expert_used=*/6,
                                 /*n_expert_shared=*/2,
                                 /*n_ff_exp=*/1408,
                                 /*n_group=*/1,
                                 /*n_group_used=*/1,
                                 /*sigmoid_gating=*/false,
                                 /*expert_weights_norm=*/false,
                                 /*expert_weights_scale=*/1.0f,
                                 /*yarn_factor=*/40.0f,
                                 /*yarn_orig_ctx=*/4096,
                                 /*yarn_log_mul=*/0.0707f};
    return s;
  }
  if (name == kV3Mini) {
    // Every DeepSeek-V3 / R1 feature at a size this kind of machine runs (1.75B parameters,
    // about 1.1 GB as q4_k_m): q_lora (attn_q_a, attn_q_a_norm, attn_q_b), sigmoid routing with
    // the exp_probs_b bias, group-limited routing (8 of 64 experts from 4 of 8 groups),
    // normalised expert weights scaled by 2.5, one shared expert, three leading dense blocks,
    // V3's MLA sizes, YaRN x40 from 4096 positions (mscale_all_dim 1) and V3's vocabulary of
    // 129280. V3 itself has 61 blocks, hidden 7168, 128 heads, q_lora 1536 and 256 experts of
    // 2048; here 8 blocks (not 26 or 27, which llama.cpp takes for V2-Lite), hidden 2048, 16
    // heads, q_lora 768, experts of 512 and a dense FFN of 5632.
    s = {name,   "deepseek2", 8,      2048,     5632,  16,    16,
         129280, 128000,      163840, 10000.0f, 1e-6f, false, SynthVocabLayout::kDeepseekV3};
    s.deepseek2 = SynthDeepseek2{/*n_dense_lead=*/3,
                                 /*q_lora_rank=*/768,
                                 /*kv_lora_rank=*/512,
                                 /*nope=*/128,
                                 /*rope=*/64,
                                 /*v_head=*/128,
                                 /*n_expert=*/64,
                                 /*n_expert_used=*/8,
                                 /*n_expert_shared=*/1,
                                 /*n_ff_exp=*/512,
                                 /*n_group=*/8,
                                 /*n_group_used=*/4,
                                 /*sigmoid_gating=*/true,
                                 /*expert_weights_norm=*/true,
                                 /*expert_weights_scale=*/2.5f,
                                 /*yarn_factor=*/40.0f,
                                 /*yarn_orig_ctx=*/4096,
                                 /*yarn_log_mul=*/0.1f};
    return s;
  }
  return std::nullopt;
}

std::vector<SynthTensor> Deepseek2SynthTensors(const SynthShape& s) {
  const SynthDeepseek2& d = *s.deepseek2;
  const int64_t E = s.n_embd, H = s.n_head, head_k = d.nope + d.rope;
  const int64_t X = d.n_expert, FX = d.n_ff_exp, FS = d.n_ff_exp * d.n_expert_shared;
  using I = SynthInit;
  std::vector<SynthTensor> t;
  t.push_back({"token_embd.weight", {E, s.n_vocab}, I::kEmbed});
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    t.push_back({p + "attn_norm.weight", {E}, I::kNorm});
    if (d.q_lora_rank > 0) {
      t.push_back({p + "attn_q_a.weight", {E, d.q_lora_rank}, I::kLinear, E});
      t.push_back({p + "attn_q_a_norm.weight", {d.q_lora_rank}, I::kNorm});
      t.push_back({p + "attn_q_b.weight", {d.q_lora_rank, H * head_k}, I::kLinear, d.q_lora_rank});
    } else {
      t.push_back({p + "attn_q.weight", {E, H * head_k}, I::kLinear, E});
    }
    // The latent and the shared RoPE key in one projection, as the checkpoints store them.
    t.push_back({p + "attn_kv_a_mqa.weight", {E, d.kv_lora_rank + d.rope}, I::kLinear, E});
    t.push_back({p + "attn_kv_a_norm.weight", {d.kv_lora_rank}, I::kNorm});
    t.push_back({p + "attn_kv_b.weight",
                 {d.kv_lora_rank, H * (d.nope + d.v_head)},
                 I::kLinear,
                 d.kv_lora_rank});
    t.push_back({p + "attn_output.weight", {H * d.v_head, E}, I::kLinearOut, H * d.v_head});
    t.push_back({p + "ffn_norm.weight", {E}, I::kNorm});
    if (i < d.n_dense_lead) {
      t.push_back({p + "ffn_gate.weight", {E, s.n_ff}, I::kLinear, E});
      t.push_back({p + "ffn_up.weight", {E, s.n_ff}, I::kLinear, E});
      t.push_back({p + "ffn_down.weight", {s.n_ff, E}, I::kLinearOut, s.n_ff});
      continue;
    }
    t.push_back({p + "ffn_gate_inp.weight", {E, X}, I::kLinear, E});
    if (d.sigmoid_gating) t.push_back({p + "exp_probs_b.bias", {X}, I::kBias});
    t.push_back({p + "ffn_gate_exps.weight", {E, FX, X}, I::kLinear, E});
    t.push_back({p + "ffn_up_exps.weight", {E, FX, X}, I::kLinear, E});
    t.push_back({p + "ffn_down_exps.weight", {FX, E, X}, I::kLinearOut, FX});
    if (FS > 0) {
      t.push_back({p + "ffn_gate_shexp.weight", {E, FS}, I::kLinear, E});
      t.push_back({p + "ffn_up_shexp.weight", {E, FS}, I::kLinear, E});
      t.push_back({p + "ffn_down_shexp.weight", {FS, E}, I::kLinearOut, FS});
    }
  }
  t.push_back({"output_norm.weight", {E}, I::kNorm});
  t.push_back({"output.weight", {E, s.n_vocab}, I::kOutput, E});
  return t;
}

void SetDeepseek2SynthKeys(const SynthShape& s, formats::GgufStreamWriter& w) {
  const SynthDeepseek2& d = *s.deepseek2;
  const std::string a = "deepseek2.";
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  w.SetUint32(a + "leading_dense_block_count", u32(d.n_dense_lead));
  // The converter writes q_lora_rank only when the checkpoint has one (not for V2-Lite).
  if (d.q_lora_rank > 0) w.SetUint32(a + "attention.q_lora_rank", u32(d.q_lora_rank));
  w.SetUint32(a + "attention.kv_lora_rank", u32(d.kv_lora_rank));
  w.SetUint32(a + "attention.key_length", u32(d.nope + d.rope));
  w.SetUint32(a + "attention.value_length", u32(d.v_head));
  w.SetUint32(a + "expert_feed_forward_length", u32(d.n_ff_exp));
  w.SetUint32(a + "expert_count", u32(d.n_expert));
  w.SetUint32(a + "expert_shared_count", u32(d.n_expert_shared));
  w.SetUint32(a + "expert_used_count", u32(d.n_expert_used));
  w.SetFloat32(a + "expert_weights_scale", d.expert_weights_scale);
  w.SetBool(a + "expert_weights_norm", d.expert_weights_norm);
  w.SetUint32(a + "expert_gating_func", d.sigmoid_gating ? 2 : 1);  // llama.cpp: 1 softmax
  // Group-limited routing only where the model has it (V2-Lite's n_group 1 means off).
  if (d.n_group > 1) {
    w.SetUint32(a + "expert_group_count", u32(d.n_group));
    w.SetUint32(a + "expert_group_used_count", u32(d.n_group_used));
  }
  w.SetString(a + "rope.scaling.type", "yarn");
  w.SetFloat32(a + "rope.scaling.factor", d.yarn_factor);
  w.SetUint32(a + "rope.scaling.original_context_length", u32(d.yarn_orig_ctx));
  w.SetFloat32(a + "rope.scaling.yarn_log_multiplier", d.yarn_log_mul);
}

}  // namespace r1d::models
