#include "models/deepseek2_moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::models {
namespace {

using kernels::WeightView;
using tensor::DType;

constexpr int64_t kRowTile = 16;

using RowDot = float (*)(int64_t n, const void* w, const void* a);
float F16Vec(int64_t n, const void* w, const void* a) {
  return kernels::parity::VecDotF16(static_cast<const uint16_t*>(w),
                                    static_cast<const uint16_t*>(a), n);
}
float F32Vec(int64_t n, const void* w, const void* a) {
  return kernels::parity::VecDotF32(static_cast<const float*>(w), static_cast<const float*>(a), n);
}

float F16Tiny(int64_t n, const void* w, const void* a) {
  return kernels::parity::TinyBlasDotF16(static_cast<const uint16_t*>(w),
                                         static_cast<const uint16_t*>(a), n);
}
float F32Tiny(int64_t n, const void* w, const void* a) {
  return kernels::parity::TinyBlasDotF32(static_cast<const float*>(w), static_cast<const float*>(a),
                                         n);
}

// The dot product order llama.cpp uses (see kernels/matmul.cc): tinyBLAS for F16/F32 batches of
// 2+ tokens where its tiling applies, the per-row vec_dot kernels otherwise.
RowDot DotFor(const WeightView& w, int64_t m, bool vec_order) {
  const bool tiny = !vec_order && m >= 2 && w.n_in % 16 == 0 && w.n_out % 4 == 0;
  if (w.type == DType::kF16) return tiny ? F16Tiny : F16Vec;
  if (w.type == DType::kF32) return tiny ? F32Tiny : F32Vec;
  RowDot dot = kernels::parity::GetVecDot(static_cast<int>(w.type));
  return dot != nullptr ? dot : kernels::GetKernels(w.type)->vec_dot;
}

}  // namespace

int64_t ConvertRows(ThreadPool& pool, DType weight_type, const float* x, int64_t n, int64_t n_in,
                    std::vector<uint8_t>& out) {
  const kernels::TypeKernels* wk = kernels::GetKernels(weight_type);
  const int64_t row_bytes = tensor::RowBytes(wk->vec_dot_type, n_in);
  out.resize(static_cast<size_t>(row_bytes * n));
  pool.ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      ConvertRow(wk->vec_dot_type, x + t * n_in, out.data() + t * row_bytes, n_in);
    }
  });
  return row_bytes;
}

void ConvertRow(DType type, const float* x, void* dst, int64_t n) {
  // llama.cpp's x86 Q8_0 activation quantizer rounds differently from the reference one.
  if (type == DType::kQ8_0) {
    kernels::parity::QuantizeRowQ8_0(x, dst, n);
  } else {
    kernels::GetKernels(type)->quantize_row(x, dst, n);
  }
}

void PreparedMatMul(ThreadPool& pool, const WeightView& w, const uint8_t* act,
                    int64_t act_row_bytes, const int32_t* rows, int64_t m, float* y,
                    bool vec_order) {
  // Quantized weights with a blocked product: same bits as the row dots below, far faster.
  thread_local kernels::MatMulScratch scratch;
  if (kernels::MatMulConverted(pool, w, act, act_row_bytes, rows, m, y, scratch)) return;
  const RowDot dot = DotFor(w, m, vec_order);
  const int64_t w_row_bytes = w.row_bytes();
  const auto* wdata = static_cast<const uint8_t*>(w.data);
  const int64_t n_tiles = (w.n_out + kRowTile - 1) / kRowTile;
  pool.ParallelFor(n_tiles, [&](int64_t tb, int64_t te) {
    for (int64_t tile = tb; tile < te; ++tile) {
      const int64_t r0 = tile * kRowTile, r1 = std::min(w.n_out, r0 + kRowTile);
      for (int64_t i = 0; i < m; ++i) {
        const uint8_t* a = act + (rows != nullptr ? rows[i] : i) * act_row_bytes;
        for (int64_t r = r0; r < r1; ++r)
          y[i * w.n_out + r] = dot(w.n_in, wdata + r * w_row_bytes, a);
      }
    }
  });
}

namespace {

// The indices of the k largest values (ties: lower index first), largest first.
void TopK(const float* v, int64_t n, int64_t k, int32_t* out, std::vector<int32_t>& idx) {
  idx.resize(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::copy(idx.begin(), idx.begin() + k, out);
}

// ggml's soft_max row: exp(x - max) with its vectorized exp on 16-wide chunks and libm's on the
// tail, the sum in double, then one multiply by the float reciprocal.
void GgmlSoftmax(float* x, int64_t n) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int64_t l = 0; l < 16; ++l) x[i + l] = kernels::parity::VExpf(x[i + l] - max);
    sum += static_cast<double>(kernels::parity::Hsum16(x + i));
  }
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += static_cast<double>(x[i]);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
}

}  // namespace

Result<ExpertTensor> LoadExpertTensor(const formats::GgufFile& f, const std::string& name,
                                      int64_t n_in, int64_t n_out, int64_t n_expert) {
  const formats::GgufTensorInfo* t = f.FindTensor(name);
  if (t == nullptr) return Status::Error(f.name() + ": missing tensor '" + name + "'");
  if (t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != n_expert || t->ne[3] != 1) {
    return Status::Error(f.name() + ": tensor '" + name + "' has shape {" +
                         std::to_string(t->ne[0]) + ", " + std::to_string(t->ne[1]) + ", " +
                         std::to_string(t->ne[2]) + "}, expected {" + std::to_string(n_in) + ", " +
                         std::to_string(n_out) + ", " + std::to_string(n_expert) + "}");
  }
  if (kernels::GetKernels(t->type) == nullptr) {
    return Status::Error(f.name() + ": tensor '" + name + "' has type " +
                         tensor::DTypeName(t->type) + ", which r1d cannot compute with");
  }
  ExpertTensor e;
  e.first.data = t->data;
  e.first.type = t->type;
  e.first.n_in = n_in;
  e.first.n_out = n_out;
  e.n_expert = n_expert;
  return e;
}

void RouteToken(const Deepseek2HParams& hp, const float* probs_b, float* logits, int32_t* ids,
                float* weights, std::vector<float>& scratch) {
  const int64_t n_exp = hp.n_expert, k = hp.n_expert_used;
  if (hp.gating == ExpertGating::kSoftmax) {
    GgmlSoftmax(logits, n_exp);
  } else {
    for (int64_t e = 0; e < n_exp; ++e) logits[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  // Selection scores: the probabilities plus the bias (V3's aux-loss-free balancing); the
  // weights use the unbiased probabilities.
  scratch.resize(2 * n_exp + hp.n_group);
  float* sel = scratch.data();
  for (int64_t e = 0; e < n_exp; ++e)
    sel[e] = probs_b != nullptr ? logits[e] + probs_b[e] : logits[e];
  if (hp.n_group > 1 && hp.n_group_used < hp.n_group) {
    // Group-limited routing: keep the best n_group_used groups. A group's score is the sum of
    // its two best selection scores with the bias (V3's noaux_tc), its best probability
    // without (V2's group_limited_greedy).
    const int64_t per = n_exp / hp.n_group;
    float* group_score = scratch.data() + 2 * n_exp;
    for (int64_t g = 0; g < hp.n_group; ++g) {
      const float* s = sel + g * per;
      float best = -INFINITY, second = -INFINITY;
      for (int64_t i = 0; i < per; ++i) {
        if (s[i] > best) {
          second = best;
          best = s[i];
        } else if (s[i] > second) {
          second = s[i];
        }
      }
      group_score[g] = (probs_b != nullptr && per >= 2) ? best + second : best;
    }
    std::vector<int32_t> idx, groups(hp.n_group_used);
    TopK(group_score, hp.n_group, hp.n_group_used, groups.data(), idx);
    float* masked = scratch.data() + n_exp;
    std::fill(masked, masked + n_exp, -INFINITY);
    for (int32_t g : groups) std::copy(sel + g * per, sel + (g + 1) * per, masked + g * per);
    std::copy(masked, masked + n_exp, sel);
  }
  std::vector<int32_t> idx;
  TopK(sel, n_exp, k, ids, idx);
  for (int64_t j = 0; j < k; ++j) weights[j] = logits[ids[j]];
  if (hp.expert_weights_norm) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += static_cast<double>(weights[j]);
    const float s = static_cast<float>(sum);
    for (int64_t j = 0; j < k; ++j) weights[j] = weights[j] / s;
  }
  for (int64_t j = 0; j < k; ++j) weights[j] *= hp.expert_weights_scale;
}

void DenseFfn(ThreadPool& pool, const WeightView& gate, const WeightView& up,
              const WeightView& down, const float* x, int64_t n, float* out, std::vector<float>& g,
              std::vector<float>& u, kernels::MatMulScratch& mm) {
  const int64_t ff = gate.n_out;
  g.resize(n * ff);
  u.resize(n * ff);
  const WeightView* w[] = {&up, &gate};
  float* y[] = {u.data(), g.data()};
  kernels::MatMulShared(pool, w, y, 2, x, n, mm);
  pool.ParallelFor(n, [&](int64_t b, int64_t e) {
    kernels::SiluMul(g.data() + b * ff, u.data() + b * ff, (e - b) * ff, g.data() + b * ff);
  });
  kernels::MatMul(pool, down, g.data(), n, out, mm);
}

void MoeFfn::Run(ThreadPool& pool, const Deepseek2HParams& hp, const MoeWeights& w, const float* x,
                 int64_t n, float* out) {
  const int64_t E = hp.n_embd, K = hp.n_expert_used, ff = hp.n_ff_exp, n_exp = hp.n_expert;
  logits_.resize(n * n_exp);
  kernels::MatMul(pool, w.gate_inp, x, n, logits_.data(), mm_);
  ids_.resize(n * K);
  weights_.resize(n * K);
  for (int64_t t = 0; t < n; ++t) {
    RouteToken(hp, w.probs_b, logits_.data() + t * n_exp, ids_.data() + t * K,
               weights_.data() + t * K, route_scratch_);
  }
  by_expert_.resize(n_exp);
  for (auto& v : by_expert_) v.clear();
  for (int64_t s = 0; s < n * K; ++s) by_expert_[ids_[s]].push_back(static_cast<int32_t>(s));

  // Activations converted once for all tokens; each expert gathers its rows.
  const int64_t up_bytes = ConvertRows(pool, w.up.first.type, x, n, E, act_up_);
  // Gate and up share a type in every published file: one conversion serves both.
  const bool gate_like_up = w.gate.first.type == w.up.first.type;
  const int64_t gate_bytes =
      gate_like_up ? up_bytes : ConvertRows(pool, w.gate.first.type, x, n, E, act_gate_);
  const uint8_t* act_gate = gate_like_up ? act_up_.data() : act_gate_.data();
  slot_out_.resize(n * K * E);
  if (kernels::HasBlockedProduct(w.gate.first.type) &&
      kernels::HasBlockedProduct(w.up.first.type) &&
      kernels::HasBlockedProduct(w.down.first.type)) {
    RunExpertsBlocked(pool, w, E, ff, K, act_gate, gate_bytes, up_bytes);
  } else {
    std::vector<int32_t> tokens;
    std::vector<float> down_out;
    for (int64_t e = 0; e < n_exp; ++e) {
      const std::vector<int32_t>& slots = by_expert_[e];
      if (slots.empty()) continue;  // decode reads only the chosen experts
      const int64_t m = static_cast<int64_t>(slots.size());
      tokens.resize(m);
      for (int64_t i = 0; i < m; ++i) tokens[i] = static_cast<int32_t>(slots[i] / K);
      gate_.resize(m * ff);
      up_.resize(m * ff);
      PreparedMatMul(pool, w.up.Expert(e), act_up_.data(), up_bytes, tokens.data(), m, up_.data(),
                     true);
      PreparedMatMul(pool, w.gate.Expert(e), act_gate, gate_bytes, tokens.data(), m, gate_.data(),
                     true);
      kernels::SiluMul(gate_.data(), up_.data(), m * ff, gate_.data());
      const int64_t down_bytes =
          ConvertRows(pool, w.down.first.type, gate_.data(), m, ff, act_down_);
      down_out.resize(m * E);
      PreparedMatMul(pool, w.down.Expert(e), act_down_.data(), down_bytes, nullptr, m,
                     down_out.data(), true);
      for (int64_t i = 0; i < m; ++i) {
        std::copy(down_out.begin() + i * E, down_out.begin() + (i + 1) * E,
                  slot_out_.begin() + slots[i] * E);
      }
    }
  }
  if (w.has_shared) {
    sh_out_.resize(n * E);
    DenseFfn(pool, w.gate_sh, w.up_sh, w.down_sh, x, n, sh_out_.data(), sh_gate_, sh_up_, mm_);
  }
  // Each expert's output scaled by its weight, summed in slot order, then the shared experts.
  pool.ParallelFor(n, [&](int64_t b, int64_t end) {
    for (int64_t t = b; t < end; ++t) {
      float* o = out + t * E;
      for (int64_t j = 0; j < K; ++j) {
        const float* s = slot_out_.data() + (t * K + j) * E;
        const float wt = weights_[t * K + j];
        if (j == 0) {
          kernels::Scale(wt, s, o, E);
        } else {
          kernels::Axpy(wt, s, o, E);  // o + s * wt, product and sum each rounded
        }
      }
      if (w.has_shared) kernels::AddInPlace(o, sh_out_.data() + t * E, E);
    }
  });
}

void MoeFfn::RunExpertsBlocked(ThreadPool& pool, const MoeWeights& w, int64_t n_embd, int64_t ff,
                               int64_t k, const uint8_t* act_gate, int64_t gate_bytes,
                               int64_t up_bytes) {
  const int64_t E = n_embd;
  active_.clear();
  first_row_.assign(1, 0);
  tokens_all_.clear();
  for (int64_t e = 0; e < static_cast<int64_t>(by_expert_.size()); ++e) {
    if (by_expert_[e].empty()) continue;  // decode reads only the chosen experts
    active_.push_back(static_cast<int32_t>(e));
    for (int32_t slot : by_expert_[e]) tokens_all_.push_back(static_cast<int32_t>(slot / k));
    first_row_.push_back(static_cast<int32_t>(tokens_all_.size()));
  }
  const int64_t n_active = static_cast<int64_t>(active_.size());
  const int64_t rows = static_cast<int64_t>(tokens_all_.size());
  if (static_cast<int64_t>(expert_scratch_.size()) < 2 * n_active) {
    expert_scratch_.resize(2 * n_active);
  }
  gate_all_.resize(rows * ff);
  up_all_.resize(rows * ff);
  down_all_.resize(rows * E);

  // Up and gate of every chosen expert in one region.
  products_.clear();
  for (int64_t a = 0; a < n_active; ++a) {
    const int64_t e = active_[a], r0 = first_row_[a], m = first_row_[a + 1] - r0;
    const int32_t* tokens = tokens_all_.data() + r0;
    const kernels::WeightView up = w.up.Expert(e), gate = w.gate.Expert(e);
    const uint8_t* up_act = kernels::PrepareActivations(up, act_up_.data(), up_bytes, tokens, m,
                                                        expert_scratch_[2 * a]);
    const uint8_t* gate_act = gate.type == up.type  // same conversion, same prepared rows
                                  ? up_act
                                  : kernels::PrepareActivations(gate, act_gate, gate_bytes, tokens,
                                                                m, expert_scratch_[2 * a + 1]);
    products_.push_back({up, up_act, m, up_all_.data() + r0 * ff});
    products_.push_back({gate, gate_act, m, gate_all_.data() + r0 * ff});
  }
  kernels::RunPreparedProducts(pool, products_.data(), static_cast<int64_t>(products_.size()));

  kernels::SiluMul(gate_all_.data(), up_all_.data(), rows * ff, gate_all_.data());
  const int64_t down_bytes =
      ConvertRows(pool, w.down.first.type, gate_all_.data(), rows, ff, act_down_);
  // Down of every chosen expert in one region.
  products_.clear();
  for (int64_t a = 0; a < n_active; ++a) {
    const int64_t e = active_[a], r0 = first_row_[a], m = first_row_[a + 1] - r0;
    const kernels::WeightView down = w.down.Expert(e);
    const uint8_t* act = kernels::PrepareActivations(
        down, act_down_.data() + r0 * down_bytes, down_bytes, nullptr, m, expert_scratch_[2 * a]);
    products_.push_back({down, act, m, down_all_.data() + r0 * E});
  }
  kernels::RunPreparedProducts(pool, products_.data(), static_cast<int64_t>(products_.size()));

  for (int64_t a = 0; a < n_active; ++a) {
    const std::vector<int32_t>& slots = by_expert_[active_[a]];
    for (size_t i = 0; i < slots.size(); ++i) {
      std::copy_n(down_all_.data() + (first_row_[a] + i) * E, E,
                  slot_out_.data() + static_cast<int64_t>(slots[i]) * E);
    }
  }
}

}  // namespace r1d::models
