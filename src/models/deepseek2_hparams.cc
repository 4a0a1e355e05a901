#include "models/deepseek2_hparams.h"

#include <algorithm>
#include <cmath>

#include "models/weights.h"

namespace r1d::models {
namespace {

// Sanity bounds: far above any real model, low enough that products cannot overflow.
constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxExperts = 1 << 16;

Result<int64_t> ReadOptionalKey(const formats::GgufFile& f, const std::string& key,
                                int64_t fallback, int64_t max) {
  if (!f.Has(key)) return fallback;
  R1D_ASSIGN_OR_RETURN(uint64_t v, f.GetUint(key));
  if (v > static_cast<uint64_t>(max)) {
    return Status::Error(f.name() + ": key '" + key + "' = " + std::to_string(v) +
                         " is out of range [0, " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(v);
}

Status Bad(const formats::GgufFile& f, const std::string& what) {
  return Status::Error(f.name() + ": " + what);
}

bool Finite(double v) { return std::isfinite(v); }

}  // namespace

Result<Deepseek2HParams> ReadDeepseek2HParams(const formats::GgufFile& f) {
  Deepseek2HParams hp;
  const std::string p = "deepseek2.";
  R1D_ASSIGN_OR_RETURN(hp.n_embd, ReadPositiveKey(f, p + "embedding_length", kMaxDim));
  R1D_ASSIGN_OR_RETURN(hp.n_layer, ReadPositiveKey(f, p + "block_count", kMaxLayers));
  R1D_ASSIGN_OR_RETURN(hp.n_head, ReadPositiveKey(f, p + "attention.head_count", kMaxHeads));
  R1D_ASSIGN_OR_RETURN(hp.n_ctx_train, ReadPositiveKey(f, p + "context_length", int64_t{1} << 24));
  R1D_ASSIGN_OR_RETURN(hp.n_dense_lead,
                       ReadOptionalKey(f, p + "leading_dense_block_count", -1, kMaxLayers));
  if (hp.n_dense_lead < 0) {
    return Bad(f, "missing key '" + p + "leading_dense_block_count'");
  }
  if (hp.n_dense_lead > hp.n_layer) {
    return Bad(f, "leading_dense_block_count " + std::to_string(hp.n_dense_lead) +
                      " exceeds block_count " + std::to_string(hp.n_layer));
  }
  if (hp.n_dense_lead > 0) {
    R1D_ASSIGN_OR_RETURN(hp.n_ff, ReadPositiveKey(f, p + "feed_forward_length", kMaxDim * 8));
  }
  // MLA sizes. Key/value sizes default to n_embd / n_head as in llama.cpp.
  R1D_ASSIGN_OR_RETURN(hp.q_lora_rank, ReadOptionalKey(f, p + "attention.q_lora_rank", 0, kMaxDim));
  R1D_ASSIGN_OR_RETURN(hp.kv_lora_rank, ReadPositiveKey(f, p + "attention.kv_lora_rank", kMaxDim));
  hp.head_k = hp.head_v = hp.n_embd / hp.n_head;
  if (f.Has(p + "attention.key_length")) {
    R1D_ASSIGN_OR_RETURN(hp.head_k, ReadPositiveKey(f, p + "attention.key_length", kMaxDim));
  }
  if (f.Has(p + "attention.value_length")) {
    R1D_ASSIGN_OR_RETURN(hp.head_v, ReadPositiveKey(f, p + "attention.value_length", kMaxDim));
  }
  R1D_ASSIGN_OR_RETURN(hp.n_rot, ReadPositiveKey(f, p + "rope.dimension_count", kMaxDim));
  if (hp.n_rot % 2 != 0 || hp.n_rot >= hp.head_k) {
    return Bad(f, "rope.dimension_count " + std::to_string(hp.n_rot) +
                      " must be even and smaller than attention.key_length " +
                      std::to_string(hp.head_k));
  }

  // Mixture of experts (required only when there are MoE blocks).
  if (hp.n_dense_lead < hp.n_layer) {
    R1D_ASSIGN_OR_RETURN(hp.n_expert, ReadPositiveKey(f, p + "expert_count", kMaxExperts));
    R1D_ASSIGN_OR_RETURN(hp.n_expert_used,
                         ReadPositiveKey(f, p + "expert_used_count", kMaxExperts));
    R1D_ASSIGN_OR_RETURN(hp.n_ff_exp,
                         ReadPositiveKey(f, p + "expert_feed_forward_length", kMaxDim));
    R1D_ASSIGN_OR_RETURN(hp.n_expert_shared, ReadOptionalKey(f, p + "expert_shared_count", 0, 64));
    if (hp.n_expert_used > hp.n_expert) {
      return Bad(f, "expert_used_count " + std::to_string(hp.n_expert_used) +
                        " exceeds expert_count " + std::to_string(hp.n_expert));
    }
    R1D_ASSIGN_OR_RETURN(double scale, f.GetFloatOr(p + "expert_weights_scale", 1.0));
    if (!(scale > 0) || !Finite(scale)) return Bad(f, "expert_weights_scale out of range");
    hp.expert_weights_scale = static_cast<float>(scale);
    R1D_ASSIGN_OR_RETURN(hp.expert_weights_norm, f.GetBoolOr(p + "expert_weights_norm", false));
    // Absent in the first V2 / V2.5 files, which use softmax (llama.cpp does the same).
    R1D_ASSIGN_OR_RETURN(uint64_t gating, f.GetUintOr(p + "expert_gating_func", 1));
    if (gating == 0) gating = 1;
    if (gating != 1 && gating != 2) {
      return Bad(f, "expert_gating_func " + std::to_string(gating) +
                        " is not supported (1 softmax, 2 sigmoid)");
    }
    hp.gating = static_cast<ExpertGating>(gating);
    R1D_ASSIGN_OR_RETURN(hp.n_group, ReadOptionalKey(f, p + "expert_group_count", 1, kMaxExperts));
    if (hp.n_group == 0) hp.n_group = 1;
    R1D_ASSIGN_OR_RETURN(hp.n_group_used, ReadOptionalKey(f, p + "expert_group_used_count",
                                                          hp.n_group, kMaxExperts));
    if (hp.n_group_used == 0) hp.n_group_used = hp.n_group;
    if (hp.n_expert % hp.n_group != 0 || hp.n_group_used > hp.n_group ||
        hp.n_expert_used > hp.n_group_used * (hp.n_expert / hp.n_group)) {
      return Bad(f, "expert_group_count " + std::to_string(hp.n_group) +
                        " / expert_group_used_count " + std::to_string(hp.n_group_used) +
                        " do not fit expert_count " + std::to_string(hp.n_expert) +
                        " and expert_used_count " + std::to_string(hp.n_expert_used));
    }
  }

  R1D_ASSIGN_OR_RETURN(double eps, f.GetFloat(p + "attention.layer_norm_rms_epsilon"));
  R1D_ASSIGN_OR_RETURN(double base, f.GetFloatOr(p + "rope.freq_base", 10000.0));
  if (!(eps >= 0) || !Finite(eps) || !(base > 0) || !Finite(base)) {
    return Bad(f, "rope.freq_base or layer_norm_rms_epsilon out of range");
  }
  hp.eps = static_cast<float>(eps);
  hp.rope_base = static_cast<float>(base);

  // RoPE scaling: none, linear or YaRN (DeepSeek-V2/V3 use YaRN with factor 40).
  R1D_ASSIGN_OR_RETURN(std::string scaling, f.GetStringOr(p + "rope.scaling.type", "none"));
  hp.n_ctx_orig = hp.n_ctx_train;
  if (scaling == "linear" || scaling == "yarn") {
    R1D_ASSIGN_OR_RETURN(double factor, f.GetFloat(p + "rope.scaling.factor"));
    if (!(factor > 0) || !Finite(factor)) return Bad(f, "rope.scaling.factor out of range");
    hp.freq_scale = static_cast<float>(1.0 / factor);
    if (scaling == "yarn") {
      hp.ext_factor = 1.0f;
      R1D_ASSIGN_OR_RETURN(hp.n_ctx_orig,
                           ReadOptionalKey(f, p + "rope.scaling.original_context_length",
                                           hp.n_ctx_train, int64_t{1} << 24));
      if (hp.n_ctx_orig == 0) hp.n_ctx_orig = hp.n_ctx_train;
    }
  } else if (scaling != "none") {
    return Bad(f, "rope.scaling.type '" + scaling + "' is not supported (none, linear, yarn)");
  }
  R1D_ASSIGN_OR_RETURN(double log_mul, f.GetFloatOr(p + "rope.scaling.yarn_log_multiplier", 0.0));
  if (!Finite(log_mul) || log_mul < 0 || log_mul > 10) {
    return Bad(f, "rope.scaling.yarn_log_multiplier out of range");
  }
  hp.yarn_log_mul = static_cast<float>(log_mul);
  // As llama.cpp: the attention logits are scaled by mscale^2 (YaRN's attention temperature),
  // while RoPE gets 1 / (1 + 0.1 ln(1 / freq_scale)), which its YaRN magnitude factor cancels.
  const float inv_scale = 1.0f / hp.freq_scale;
  const float mscale = 1.0f * (1.0f + hp.yarn_log_mul * std::log(inv_scale));
  hp.kq_scale = 1.0f * mscale * mscale / std::sqrt(static_cast<float>(hp.head_k));
  hp.rope_attn_factor = 1.0f / (1.0f + 0.1f * std::log(inv_scale));
  return hp;
}

namespace {

float YarnCorrDim(int64_t n_dims, int64_t n_ctx_orig, float n_rot, float base) {
  return static_cast<float>(n_dims) *
         std::log(static_cast<float>(n_ctx_orig) / (n_rot * 2 * static_cast<float>(M_PI))) /
         (2 * std::log(base));
}

}  // namespace

void Deepseek2RopeAngles(const Deepseek2HParams& hp, int64_t pos, float* cos_out, float* sin_out) {
  float low = 0, high = 0;
  if (hp.ext_factor != 0.0f) {
    const float start =
        std::floor(YarnCorrDim(hp.n_rot, hp.n_ctx_orig, hp.beta_fast, hp.rope_base));
    const float end = std::ceil(YarnCorrDim(hp.n_rot, hp.n_ctx_orig, hp.beta_slow, hp.rope_base));
    low = std::max(0.0f, start);
    high = std::min(static_cast<float>(hp.n_rot - 1), end);
  }
  // Angles built by repeated multiplication in float, as ggml does, so rounding matches.
  const float theta_scale = std::pow(hp.rope_base, -2.0f / static_cast<float>(hp.n_rot));
  float theta_extrap = static_cast<float>(pos);
  for (int64_t i = 0; i < hp.n_rot / 2; ++i) {
    const float theta_interp = hp.freq_scale * theta_extrap;
    float theta = theta_interp;
    float mscale = hp.rope_attn_factor;
    if (hp.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i) - low) / std::max(0.001f, high - low);
      const float ramp_mix = (1 - std::min(1.0f, std::max(0.0f, y))) * hp.ext_factor;
      theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / hp.freq_scale);
    }
    cos_out[i] = std::cos(theta) * mscale;
    sin_out[i] = std::sin(theta) * mscale;
    theta_extrap *= theta_scale;
  }
}

}  // namespace r1d::models
