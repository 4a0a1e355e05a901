#pragma once
// DeepSeek-V2/V3/R1 ("deepseek2" in GGUF) hyper-parameters: multi-head latent attention (MLA)
// sizes, mixture-of-experts routing and RoPE/YaRN settings, read and validated from the file.
#include <cstdint>
#include <string>

#include "core/status.h"
#include "formats/gguf_reader.h"

namespace r1d::models {

enum class ExpertGating { kSoftmax = 1, kSigmoid = 2 };

struct Deepseek2HParams {
  int64_t n_vocab = 0, n_ctx_train = 0, n_embd = 0, n_layer = 0, n_head = 0;
  int64_t n_ff = 0;          // dense (leading) blocks
  int64_t n_dense_lead = 0;  // blocks [0, n_dense_lead) are dense, the rest MoE
  int64_t q_lora_rank = 0;   // 0: attn_q projects directly (V2-Lite)
  int64_t kv_lora_rank = 0;  // the latent the cache stores
  int64_t head_k = 0;        // key size per head: nope + rope
  int64_t head_v = 0;        // value size per head
  int64_t n_rot = 0;         // the RoPE part of each key/query
  int64_t nope() const { return head_k - n_rot; }

  // Mixture of experts.
  int64_t n_expert = 0, n_expert_used = 0, n_expert_shared = 0, n_ff_exp = 0;
  int64_t n_group = 1, n_group_used = 1;  // group-limited routing (1: off)
  float expert_weights_scale = 1.0f;
  bool expert_weights_norm = false;
  ExpertGating gating = ExpertGating::kSoftmax;

  float eps = 1e-6f;
  // RoPE, with llama.cpp's YaRN parameters (ext_factor 0: plain RoPE).
  float rope_base = 10000.0f, freq_scale = 1.0f, ext_factor = 0.0f;
  float beta_fast = 32.0f, beta_slow = 1.0f;
  int64_t n_ctx_orig = 0;
  float yarn_log_mul = 0.0f;
  float rope_attn_factor = 1.0f;  // the magnitude factor handed to RoPE
  float kq_scale = 1.0f;          // applied to q.k before the softmax
};

// Reads and checks every key the architecture needs; n_vocab is left to the caller (it comes
// from token_embd). Errors name the file and key.
Result<Deepseek2HParams> ReadDeepseek2HParams(const formats::GgufFile& f);

// cos/sin of the n_rot / 2 rotation angles at position pos, as ggml's rope (YaRN ramp and
// magnitude scale included).
void Deepseek2RopeAngles(const Deepseek2HParams& hp, int64_t pos, float* cos_out, float* sin_out);

}  // namespace r1d::models
