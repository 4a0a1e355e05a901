#include "models/llama.h"

#include <algorithm>
#include <cmath>

#include "core/anon_buffer.h"
#include "core/checked_math.h"
#include "core/fp16.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "models/weights.h"

namespace r1d::models {
namespace {

using kernels::WeightView;

// Sanity bounds on hyper-parameters: far above any real model, low enough that products of them
// cannot overflow.
constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;

struct HParams {
  std::string arch;
  int64_t n_vocab = 0, n_ctx_train = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim = 0, n_ff = 0, n_rot = 0;
  float rope_base = 10000.0f, rope_scale = 1.0f, eps = 1e-5f;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kAdjacentPairs;
};

struct Layer {
  const float* attn_norm = nullptr;
  WeightView wq, wk, wv, wo;
  const float* bq = nullptr;
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* ffn_norm = nullptr;
  WeightView gate, up, down;
};

// KV block layout: [layer][K, V][block_tokens][n_head_kv * head_dim] F16.
uint16_t* KvRow(const SequenceState& s, int64_t kv_dim, int64_t layer, int which, int64_t pos) {
  const KvBlockPool& pool = s.pool();
  const int64_t B = pool.block_tokens();
  auto* base = reinterpret_cast<uint16_t*>(pool.Data(s.blocks()[pos / B]));
  return base + ((layer * 2 + which) * B + pos % B) * kv_dim;
}

Result<HParams> ReadHParams(const formats::GgufFile& f, const std::string& arch) {
  HParams hp;
  hp.arch = arch;
  const std::string p = arch + ".";
  R1D_ASSIGN_OR_RETURN(hp.n_embd, ReadPositiveKey(f, p + "embedding_length", kMaxDim));
  R1D_ASSIGN_OR_RETURN(hp.n_layer, ReadPositiveKey(f, p + "block_count", kMaxLayers));
  R1D_ASSIGN_OR_RETURN(hp.n_head, ReadPositiveKey(f, p + "attention.head_count", kMaxHeads));
  R1D_ASSIGN_OR_RETURN(hp.n_ff, ReadPositiveKey(f, p + "feed_forward_length", kMaxDim * 8));
  R1D_ASSIGN_OR_RETURN(hp.n_ctx_train, ReadPositiveKey(f, p + "context_length", int64_t{1} << 24));
  hp.n_head_kv = hp.n_head;
  if (f.Has(p + "attention.head_count_kv")) {
    R1D_ASSIGN_OR_RETURN(hp.n_head_kv,
                         ReadPositiveKey(f, p + "attention.head_count_kv", kMaxHeads));
  }
  if (hp.n_embd % hp.n_head != 0) {
    return Status::Error(f.name() + ": embedding_length " + std::to_string(hp.n_embd) +
                         " is not a multiple of head_count " + std::to_string(hp.n_head));
  }
  hp.head_dim = hp.n_embd / hp.n_head;
  if (f.Has(p + "attention.key_length")) {
    R1D_ASSIGN_OR_RETURN(int64_t kl, ReadPositiveKey(f, p + "attention.key_length", kMaxDim));
    if (kl != hp.head_dim) {
      return Status::Error(f.name() + ": attention.key_length " + std::to_string(kl) +
                           " differs from embedding_length / head_count; not supported");
    }
  }
  if (hp.n_head % hp.n_head_kv != 0) {
    return Status::Error(f.name() + ": head_count " + std::to_string(hp.n_head) +
                         " is not a multiple of head_count_kv " + std::to_string(hp.n_head_kv));
  }
  hp.n_rot = hp.head_dim;
  if (f.Has(p + "rope.dimension_count")) {
    R1D_ASSIGN_OR_RETURN(hp.n_rot, ReadPositiveKey(f, p + "rope.dimension_count", kMaxDim));
  }
  if (hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0) {
    return Status::Error(f.name() + ": rope.dimension_count " + std::to_string(hp.n_rot) +
                         " must be even and at most the head size " + std::to_string(hp.head_dim));
  }
  R1D_ASSIGN_OR_RETURN(double base, f.GetFloatOr(p + "rope.freq_base", 10000.0));
  R1D_ASSIGN_OR_RETURN(double eps, f.GetFloat(p + "attention.layer_norm_rms_epsilon"));
  if (!(base > 0) || !std::isfinite(base) || !(eps >= 0) || !std::isfinite(eps)) {
    return Status::Error(f.name() + ": rope.freq_base or layer_norm_rms_epsilon out of range");
  }
  hp.rope_base = static_cast<float>(base);
  hp.eps = static_cast<float>(eps);
  R1D_ASSIGN_OR_RETURN(std::string scaling, f.GetStringOr(p + "rope.scaling.type", "none"));
  if (scaling == "linear") {
    R1D_ASSIGN_OR_RETURN(double factor, f.GetFloat(p + "rope.scaling.factor"));
    if (!(factor > 0) || !std::isfinite(factor)) {
      return Status::Error(f.name() + ": rope.scaling.factor out of range");
    }
    hp.rope_scale = static_cast<float>(1.0 / factor);
  } else if (scaling != "none" && scaling != "llama3") {
    return Status::Error(f.name() + ": rope.scaling.type '" + scaling + "' is not supported");
  }
  hp.rope_style =
      arch == "qwen2" ? kernels::RopeStyle::kHalves : kernels::RopeStyle::kAdjacentPairs;
  return hp;
}

class LlamaModel : public Model {
 public:
  static Result<std::unique_ptr<Model>> Load(std::unique_ptr<formats::GgufFile> file,
                                             const std::string& arch);

  const ModelInfo& info() const override { return info_; }

  int64_t KvBytesPerToken() const override {
    return hp_.n_layer * 2 * hp_.n_head_kv * hp_.head_dim * static_cast<int64_t>(sizeof(uint16_t));
  }

  Status ForwardBatch(ThreadPool& pool, const BatchEntry* entries, int64_t n_entries) override;

 protected:
  const formats::GgufFile& file() const override { return *file_; }
  std::vector<kernels::PackRequest> MatricesToPack() override {
    // Not token_embd: its rows are read one token at a time (a tied output gets its own view).
    std::vector<kernels::PackRequest> out{{&output_}};
    for (Layer& L : layers_) {
      for (WeightView* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down})
        out.push_back({w});
    }
    return out;
  }

 private:
  std::unique_ptr<formats::GgufFile> file_;
  HParams hp_;
  ModelInfo info_;
  WeightView tok_embd_, output_;
  const float* output_norm_ = nullptr;
  const float* rope_freqs_ = nullptr;
  std::vector<Layer> layers_;
  std::unique_ptr<WeightLoader> loader_;

  // Activations, resized per call: [n][dim].
  std::vector<float> x_, cur_, q_, k_, v_, attn_, tmp_, gate_, up_;
  std::vector<float> rope_cos_, rope_sin_, logits_;
  std::vector<int64_t> owner_, pos_, first_row_;
  std::vector<int32_t> tokens_;
  // Per entry: the cache block pointers of the current layer (K, V) for the attention batch.
  std::vector<std::pair<std::vector<const uint16_t*>, std::vector<const uint16_t*>>> kv_blocks_;
  std::vector<kernels::AttentionEntry> att_entries_;
  kernels::MatMulScratch mm_;
};

Result<std::unique_ptr<Model>> LlamaModel::Load(std::unique_ptr<formats::GgufFile> file,
                                                const std::string& arch) {
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  const formats::GgufFile& f = *file;
  R1D_ASSIGN_OR_RETURN(m->hp_, ReadHParams(f, arch));
  HParams& hp = m->hp_;
  m->loader_ = std::make_unique<WeightLoader>(f);
  WeightLoader& w = *m->loader_;

  const formats::GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) return Status::Error(f.name() + ": missing tensor 'token_embd.weight'");
  hp.n_vocab = embd->ne[1];
  if (hp.n_vocab <= 0 || hp.n_vocab > (int64_t{1} << 24)) {
    return Status::Error(f.name() + ": token_embd.weight has an implausible vocabulary size");
  }
  const int64_t E = hp.n_embd, D = hp.head_dim;
  const int64_t q_dim = hp.n_head * D, kv_dim = hp.n_head_kv * D;
  R1D_ASSIGN_OR_RETURN(m->tok_embd_, w.Matrix("token_embd.weight", E, hp.n_vocab));
  R1D_ASSIGN_OR_RETURN(m->output_norm_, w.Vector("output_norm.weight", E));
  if (w.Has("output.weight")) {
    R1D_ASSIGN_OR_RETURN(m->output_, w.Matrix("output.weight", E, hp.n_vocab));
  } else {
    m->output_ = m->tok_embd_;  // tied embeddings
  }
  if (w.Has("rope_freqs.weight")) {
    R1D_ASSIGN_OR_RETURN(m->rope_freqs_, w.Vector("rope_freqs.weight", hp.n_rot / 2));
  }
  const bool biases = arch == "qwen2";
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    Layer L;
    R1D_ASSIGN_OR_RETURN(L.attn_norm, w.Vector(b + "attn_norm.weight", E));
    R1D_ASSIGN_OR_RETURN(L.wq, w.Matrix(b + "attn_q.weight", E, q_dim));
    R1D_ASSIGN_OR_RETURN(L.wk, w.Matrix(b + "attn_k.weight", E, kv_dim));
    R1D_ASSIGN_OR_RETURN(L.wv, w.Matrix(b + "attn_v.weight", E, kv_dim));
    R1D_ASSIGN_OR_RETURN(L.wo, w.Matrix(b + "attn_output.weight", q_dim, E));
    if (biases || w.Has(b + "attn_q.bias")) {
      R1D_ASSIGN_OR_RETURN(L.bq, w.Vector(b + "attn_q.bias", q_dim));
      R1D_ASSIGN_OR_RETURN(L.bk, w.Vector(b + "attn_k.bias", kv_dim));
      R1D_ASSIGN_OR_RETURN(L.bv, w.Vector(b + "attn_v.bias", kv_dim));
    }
    R1D_ASSIGN_OR_RETURN(L.ffn_norm, w.Vector(b + "ffn_norm.weight", E));
    R1D_ASSIGN_OR_RETURN(L.gate, w.Matrix(b + "ffn_gate.weight", E, hp.n_ff));
    R1D_ASSIGN_OR_RETURN(L.up, w.Matrix(b + "ffn_up.weight", E, hp.n_ff));
    R1D_ASSIGN_OR_RETURN(L.down, w.Matrix(b + "ffn_down.weight", hp.n_ff, E));
    m->layers_.push_back(L);
  }
  m->info_ = {arch, hp.n_vocab, hp.n_ctx_train, E, hp.n_layer, hp.n_head, hp.n_head_kv, D};
  m->file_ = std::move(file);
  return std::unique_ptr<Model>(std::move(m));
}

// Adds a bias (may be null) to each of n rows of width dim.
void AddBias(float* y, const float* bias, int64_t n, int64_t dim) {
  if (bias == nullptr) return;
  for (int64_t t = 0; t < n; ++t) kernels::AddInPlace(y + t * dim, bias, dim);
}

Status LlamaModel::ForwardBatch(ThreadPool& pool, const BatchEntry* entries, int64_t n_entries) {
  if (n_entries <= 0) return Status::Error("no sequences to evaluate");
  // Validate everything first; then the pass cannot fail half-way.
  int64_t n = 0;
  std::vector<SequenceState*> states(static_cast<size_t>(n_entries));
  for (int64_t i = 0; i < n_entries; ++i) {
    const BatchEntry& en = entries[i];
    states[i] = en.state;
    R1D_CHECK(states[i] != nullptr);
    if (en.n <= 0) return Status::Error("no tokens to evaluate");
    if (en.pos0 < 0 || en.pos0 + en.n > states[i]->capacity()) {
      return Status::Error("context is full: " + std::to_string(en.pos0 + en.n) +
                           " positions needed, " + std::to_string(states[i]->capacity()) +
                           " available (raise --ctx)");
    }
    for (int64_t t = 0; t < en.n; ++t) {
      if (en.tokens[t] < 0 || en.tokens[t] >= hp_.n_vocab) {
        return Status::Error("token id " + std::to_string(en.tokens[t]) +
                             " is outside the vocabulary [0, " + std::to_string(hp_.n_vocab) + ")");
      }
    }
    n += en.n;
  }
  const int64_t E = hp_.n_embd, D = hp_.head_dim;
  const int64_t q_dim = hp_.n_head * D, kv_dim = hp_.n_head_kv * D;
  const int64_t half_rot = hp_.n_rot / 2;
  x_.resize(n * E);
  cur_.resize(n * E);
  q_.resize(n * q_dim);
  k_.resize(n * kv_dim);
  v_.resize(n * kv_dim);
  attn_.resize(n * q_dim);
  tmp_.resize(n * E);
  gate_.resize(n * hp_.n_ff);
  up_.resize(n * hp_.n_ff);
  rope_cos_.resize(n * half_rot);
  rope_sin_.resize(n * half_rot);
  // Row t of the batch belongs to entry owner_[t] at position pos_[t].
  owner_.resize(n);
  pos_.resize(n);
  tokens_.resize(n);
  first_row_.resize(n_entries);
  for (int64_t i = 0, t = 0; i < n_entries; ++i) {
    first_row_[i] = t;
    for (int64_t j = 0; j < entries[i].n; ++j, ++t) {
      owner_[t] = i;
      pos_[t] = entries[i].pos0 + j;
      tokens_[t] = entries[i].tokens[j];
    }
  }

  const kernels::TypeKernels* embd_k = kernels::GetKernels(tok_embd_.type);
  const int64_t embd_row = tok_embd_.row_bytes();
  pool.ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      embd_k->dequantize_row(static_cast<const uint8_t*>(tok_embd_.data) + tokens_[t] * embd_row,
                             x_.data() + t * E, E);
      kernels::RopeAngles(pos_[t], hp_.n_rot, hp_.rope_base, hp_.rope_scale, rope_freqs_,
                          rope_cos_.data() + t * half_rot, rope_sin_.data() + t * half_rot);
    }
  });

  const kernels::AttentionShape shape{hp_.n_head, hp_.n_head_kv, D,
                                      1.0f / std::sqrt(static_cast<float>(D))};
  for (int64_t il = 0; il < hp_.n_layer; ++il) {
    const Layer& L = layers_[il];
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        kernels::RmsNorm(x_.data() + t * E, L.attn_norm, E, hp_.eps, cur_.data() + t * E);
      }
    });
    {
      const WeightView* w[] = {&L.wq, &L.wk, &L.wv};
      float* y[] = {q_.data(), k_.data(), v_.data()};
      kernels::MatMulShared(pool, w, y, 3, cur_.data(), n, mm_);
    }
    AddBias(q_.data(), L.bq, n, q_dim);
    AddBias(k_.data(), L.bk, n, kv_dim);
    AddBias(v_.data(), L.bv, n, kv_dim);
    // RoPE, then store K and V for these positions in each sequence's cache (F16, as
    // llama.cpp's cache).
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const float* c = rope_cos_.data() + t * half_rot;
        const float* s = rope_sin_.data() + t * half_rot;
        for (int64_t h = 0; h < hp_.n_head; ++h) {
          kernels::ApplyRope(q_.data() + t * q_dim + h * D, hp_.n_rot, hp_.rope_style, c, s);
        }
        for (int64_t h = 0; h < hp_.n_head_kv; ++h) {
          kernels::ApplyRope(k_.data() + t * kv_dim + h * D, hp_.n_rot, hp_.rope_style, c, s);
        }
        const SequenceState& kv = *states[owner_[t]];
        uint16_t* kc = KvRow(kv, kv_dim, il, 0, pos_[t]);
        uint16_t* vc = KvRow(kv, kv_dim, il, 1, pos_[t]);
        for (int64_t i = 0; i < kv_dim; ++i) {
          kc[i] = Fp32ToFp16(k_[t * kv_dim + i]);
          vc[i] = Fp32ToFp16(v_[t * kv_dim + i]);
        }
      }
    });
    // Attention is per sequence (each entry's tokens see only their own cache), all entries in
    // one parallel region.
    att_entries_.resize(n_entries);
    kv_blocks_.resize(n_entries);
    for (int64_t i = 0; i < n_entries; ++i) {
      const int64_t r = first_row_[i];
      const SequenceState& kv = *states[i];
      const int64_t B = kv.pool().block_tokens();
      const int64_t n_blocks = (entries[i].pos0 + entries[i].n + B - 1) / B;
      auto& [k_blocks, v_blocks] = kv_blocks_[i];
      k_blocks.resize(n_blocks);
      v_blocks.resize(n_blocks);
      for (int64_t b = 0; b < n_blocks; ++b) {
        k_blocks[b] = KvRow(kv, kv_dim, il, 0, b * B);
        v_blocks[b] = KvRow(kv, kv_dim, il, 1, b * B);
      }
      att_entries_[i] = {kernels::KvView{k_blocks.data(), v_blocks.data(), B, kv_dim},
                         q_.data() + r * q_dim, entries[i].n, entries[i].pos0,
                         attn_.data() + r * q_dim};
    }
    kernels::CausalAttentionBatch(pool, shape, att_entries_.data(), n_entries);
    kernels::MatMul(pool, L.wo, attn_.data(), n, tmp_.data(), mm_);
    for (int64_t i = 0; i < n * E; ++i) x_[i] += tmp_[i];

    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        kernels::RmsNorm(x_.data() + t * E, L.ffn_norm, E, hp_.eps, cur_.data() + t * E);
      }
    });
    {
      const WeightView* w[] = {&L.gate, &L.up};
      float* y[] = {gate_.data(), up_.data()};
      kernels::MatMulShared(pool, w, y, 2, cur_.data(), n, mm_);
    }
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      kernels::SiluMul(gate_.data() + b * hp_.n_ff, up_.data() + b * hp_.n_ff, (e - b) * hp_.n_ff,
                       gate_.data() + b * hp_.n_ff);
    });
    kernels::MatMul(pool, L.down, gate_.data(), n, tmp_.data(), mm_);
    for (int64_t i = 0; i < n * E; ++i) x_[i] += tmp_[i];
  }

  // Logits only for the last token of each entry that wants them, in one product.
  std::vector<int64_t> wanted;
  for (int64_t i = 0; i < n_entries; ++i) {
    if (entries[i].logits != nullptr) wanted.push_back(i);
  }
  if (wanted.empty()) return Status::Ok();
  const int64_t m = static_cast<int64_t>(wanted.size());
  for (int64_t j = 0; j < m; ++j) {
    const int64_t last = first_row_[wanted[j]] + entries[wanted[j]].n - 1;
    kernels::RmsNorm(x_.data() + last * E, output_norm_, E, hp_.eps, cur_.data() + j * E);
  }
  logits_.resize(m * hp_.n_vocab);
  kernels::MatMul(pool, output_, cur_.data(), m, logits_.data(), mm_);
  for (int64_t j = 0; j < m; ++j) {
    std::copy(logits_.begin() + j * hp_.n_vocab, logits_.begin() + (j + 1) * hp_.n_vocab,
              entries[wanted[j]].logits);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Model>> LoadLlamaFamily(std::unique_ptr<formats::GgufFile> file) {
  R1D_ASSIGN_OR_RETURN(std::string arch, file->GetString("general.architecture"));
  return LlamaModel::Load(std::move(file), arch);
}

}  // namespace r1d::models
