#pragma once
// Synthetic models with the real shapes of the DeepSeek-R1 distills and of DeepSeek-V2-Lite (or a
// small V3-architecture model, or a tiny one for tests): a synthetic tokenizer of the right size
// and random weights, initialised so that activations
// stay in a healthy range (linear N(0, 1/sqrt(fan_in)), output-side projections further scaled
// by 1/sqrt(2 n_layer), embeddings N(0, 1), lm head N(0, 4/sqrt(n_embd)), norms 1 + N(0, 0.05),
// biases N(0, 0.1)). Each row of each tensor depends only on (seed, tensor name, row), so files
// are reproducible whatever the thread count.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "models/synth_vocab.h"
#include "tensor/quant_mix.h"

namespace r1d::models {

// The sizes only DeepSeek-V2/V3 ("deepseek2") models have: multi-head latent attention (MLA),
// leading dense blocks, then mixture-of-experts blocks.
struct SynthDeepseek2 {
  int64_t n_dense_lead;             // blocks [0, n_dense_lead) are dense (FFN n_ff)
  int64_t q_lora_rank;              // 0: plain attn_q (V2-Lite), else attn_q_a/_norm/_b
  int64_t kv_lora_rank;             // the latent the KV cache stores
  int64_t nope, rope, v_head;       // per head: key = nope + rope, value = v_head
  int64_t n_expert, n_expert_used;  // routed experts
  int64_t n_expert_shared, n_ff_exp;
  int64_t n_group, n_group_used;  // group-limited routing (1, 1: off)
  bool sigmoid_gating;            // V3: sigmoid + exp_probs_b.bias; V2: softmax
  bool expert_weights_norm;
  float expert_weights_scale;
  float yarn_factor;  // YaRN RoPE scaling
  int64_t yarn_orig_ctx;
  float yarn_log_mul;  // 0.1 * mscale_all_dim
};

struct SynthShape {
  std::string name;  // "r1-distill-qwen-1.5b"
  std::string arch;  // "qwen2" or "llama"
  int64_t n_layer, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_regular, n_ctx;
  float rope_base, rms_eps;
  bool llama3_rope;  // llama: rope_freqs.weight with Llama-3.1 scaling (factor 8, ctx 8192)
  SynthVocabLayout vocab = SynthVocabLayout::kQwen;
  std::optional<SynthDeepseek2> deepseek2 = std::nullopt;  // set for arch "deepseek2"
};

// Shapes by name: r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b, tiny (qwen2 or
// llama), deepseek-v2-lite, deepseek-v3-mini (deepseek2). `arch` ("" = the shape's own) must match
// the shape; tiny takes either qwen2 or llama.
Result<SynthShape> FindSynthShape(const std::string& name, const std::string& arch);
const char* SynthShapeNames();

// Overrides the block count (for fast tests: the file is then no longer the named shape). A
// deepseek2 shape keeps as many of its leading dense blocks as fit, the rest stay MoE.
Status SetSynthLayers(SynthShape& shape, int64_t n_layer);

struct SynthOptions {
  SynthShape shape;
  tensor::QuantTarget target;
  uint64_t seed = 1;
  std::string out_path;
};

// Called with one line per tensor written (index, percent of data done, name, type, size).
using SynthProgress = std::function<void(const std::string& line)>;

// Writes the model. Returns the file size in bytes.
Result<uint64_t> WriteSynthModel(const SynthOptions& options, ThreadPool& pool,
                                 const SynthProgress& progress);

}  // namespace r1d::models
