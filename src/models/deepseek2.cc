#include "models/deepseek2.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "models/deepseek2_attention.h"
#include "models/deepseek2_hparams.h"
#include "models/deepseek2_moe.h"
#include "models/weights.h"

namespace r1d::models {
namespace {

using kernels::WeightView;

struct Layer {
  const float* attn_norm = nullptr;
  MlaWeights attn;
  const float* ffn_norm = nullptr;
  bool dense = true;
  WeightView gate, up, down;  // dense blocks
  MoeWeights moe;             // the others
};

class Deepseek2Model : public Model {
 public:
  static Result<std::unique_ptr<Model>> Load(std::unique_ptr<formats::GgufFile> file,
                                             const Deepseek2Options& options);
  const ModelInfo& info() const override { return info_; }
  // The latent cache: kv_lora_rank + n_rot values of 2 bytes per position and layer.
  int64_t KvBytesPerToken() const override { return hp_.n_layer * MlaCacheRowBytes(hp_); }
  Status ForwardBatch(ThreadPool& pool, const BatchEntry* entries, int64_t n_entries) override;

 protected:
  const formats::GgufFile& file() const override { return *file_; }
  std::vector<kernels::PackRequest> MatricesToPack() override;

 private:
  Status LoadLayer(WeightLoader& w, const formats::GgufFile& f, int64_t i);

  std::unique_ptr<formats::GgufFile> file_;
  Deepseek2HParams hp_;
  ModelInfo info_;
  WeightView tok_embd_, output_;
  const float* output_norm_ = nullptr;
  std::vector<Layer> layers_;
  std::unique_ptr<WeightLoader> loader_;

  std::vector<float> x_, cur_, tmp_, gate_, up_, rope_cos_, rope_sin_, logits_;
  std::vector<int64_t> owner_, pos_, first_row_, wanted_rows_;
  std::vector<int32_t> tokens_;
  MlaAttention attention_;
  MoeFfn moe_;
  kernels::MatMulScratch mm_;
};

Status Deepseek2Model::LoadLayer(WeightLoader& w, const formats::GgufFile& f, int64_t i) {
  const Deepseek2HParams& hp = hp_;
  const int64_t E = hp.n_embd, H = hp.n_head;
  const std::string b = "blk." + std::to_string(i) + ".";
  Layer L;
  R1D_ASSIGN_OR_RETURN(L.attn_norm, w.Vector(b + "attn_norm.weight", E));
  MlaWeights& a = L.attn;
  if (hp.q_lora_rank > 0) {
    R1D_ASSIGN_OR_RETURN(a.wq_a, w.Matrix(b + "attn_q_a.weight", E, hp.q_lora_rank));
    R1D_ASSIGN_OR_RETURN(a.q_a_norm, w.Vector(b + "attn_q_a_norm.weight", hp.q_lora_rank));
    R1D_ASSIGN_OR_RETURN(a.wq_b, w.Matrix(b + "attn_q_b.weight", hp.q_lora_rank, H * hp.head_k));
  } else {
    R1D_ASSIGN_OR_RETURN(a.wq, w.Matrix(b + "attn_q.weight", E, H * hp.head_k));
  }
  R1D_ASSIGN_OR_RETURN(a.wkv_a,
                       w.Matrix(b + "attn_kv_a_mqa.weight", E, hp.kv_lora_rank + hp.n_rot));
  R1D_ASSIGN_OR_RETURN(a.kv_a_norm, w.Vector(b + "attn_kv_a_norm.weight", hp.kv_lora_rank));
  R1D_ASSIGN_OR_RETURN(
      a.wkv_b, w.Matrix(b + "attn_kv_b.weight", hp.kv_lora_rank, H * (hp.nope() + hp.head_v)));
  a.latent_type = MlaLatentType(hp, a.wkv_b.type);
  R1D_ASSIGN_OR_RETURN(a.wo, w.Matrix(b + "attn_output.weight", H * hp.head_v, E));
  R1D_ASSIGN_OR_RETURN(L.ffn_norm, w.Vector(b + "ffn_norm.weight", E));
  L.dense = i < hp.n_dense_lead;
  if (L.dense) {
    R1D_ASSIGN_OR_RETURN(L.gate, w.Matrix(b + "ffn_gate.weight", E, hp.n_ff));
    R1D_ASSIGN_OR_RETURN(L.up, w.Matrix(b + "ffn_up.weight", E, hp.n_ff));
    R1D_ASSIGN_OR_RETURN(L.down, w.Matrix(b + "ffn_down.weight", hp.n_ff, E));
  } else {
    MoeWeights& m = L.moe;
    const int64_t X = hp.n_expert, FX = hp.n_ff_exp;
    R1D_ASSIGN_OR_RETURN(m.gate_inp, w.Matrix(b + "ffn_gate_inp.weight", E, X));
    if (w.Has(b + "exp_probs_b.bias")) {
      R1D_ASSIGN_OR_RETURN(m.probs_b, w.Vector(b + "exp_probs_b.bias", X));
    }
    R1D_ASSIGN_OR_RETURN(m.gate, LoadExpertTensor(f, b + "ffn_gate_exps.weight", E, FX, X));
    R1D_ASSIGN_OR_RETURN(m.up, LoadExpertTensor(f, b + "ffn_up_exps.weight", E, FX, X));
    R1D_ASSIGN_OR_RETURN(m.down, LoadExpertTensor(f, b + "ffn_down_exps.weight", FX, E, X));
    m.has_shared = hp.n_expert_shared > 0;
    if (m.has_shared) {
      const int64_t FS = FX * hp.n_expert_shared;
      R1D_ASSIGN_OR_RETURN(m.gate_sh, w.Matrix(b + "ffn_gate_shexp.weight", E, FS));
      R1D_ASSIGN_OR_RETURN(m.up_sh, w.Matrix(b + "ffn_up_shexp.weight", E, FS));
      R1D_ASSIGN_OR_RETURN(m.down_sh, w.Matrix(b + "ffn_down_shexp.weight", FS, E));
    }
  }
  layers_.push_back(L);
  return Status::Ok();
}

// Not token_embd (rows read one token at a time). attn_kv_b is packed for the decompressing
// attention but keeps its file pages: the absorbed attention reads its rows as floats. The
// expert stacks come last: where memory is short they are the ones
// left unpacked, memory-mapped from the page cache.
std::vector<kernels::PackRequest> Deepseek2Model::MatricesToPack() {
  std::vector<kernels::PackRequest> out{{&output_}};
  for (Layer& L : layers_) {
    MlaWeights& a = L.attn;
    for (WeightView* w : {&a.wq, &a.wq_a, &a.wq_b, &a.wkv_a, &a.wo, &L.gate, &L.up, &L.down}) {
      if (w->data != nullptr) out.push_back({w});
    }
    out.push_back({&a.wkv_b, 0, /*keep_file_pages=*/true});
    if (!L.dense && L.moe.has_shared) {
      for (WeightView* w : {&L.moe.gate_sh, &L.moe.up_sh, &L.moe.down_sh}) out.push_back({w});
    }
  }
  for (Layer& L : layers_) {
    if (L.dense) continue;
    for (ExpertTensor* e : {&L.moe.gate, &L.moe.up, &L.moe.down}) {
      // Expert e's packed rows start at a strip only when n_out is a multiple of 16.
      if (e->first.n_out % 16 == 0) out.push_back({&e->first, e->n_expert * e->first.n_out});
    }
  }
  return out;
}

Result<std::unique_ptr<Model>> Deepseek2Model::Load(std::unique_ptr<formats::GgufFile> file,
                                                    const Deepseek2Options& options) {
  std::unique_ptr<Deepseek2Model> m(new Deepseek2Model());
  m->attention_.set_decompress_budget(options.decompress_budget);
  const formats::GgufFile& f = *file;
  R1D_ASSIGN_OR_RETURN(m->hp_, ReadDeepseek2HParams(f));
  Deepseek2HParams& hp = m->hp_;
  m->loader_ = std::make_unique<WeightLoader>(f);
  WeightLoader& w = *m->loader_;
  const formats::GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) return Status::Error(f.name() + ": missing tensor 'token_embd.weight'");
  hp.n_vocab = embd->ne[1];
  if (hp.n_vocab <= 0 || hp.n_vocab > (int64_t{1} << 24)) {
    return Status::Error(f.name() + ": token_embd.weight has an implausible vocabulary size");
  }
  const int64_t E = hp.n_embd;
  R1D_ASSIGN_OR_RETURN(m->tok_embd_, w.Matrix("token_embd.weight", E, hp.n_vocab));
  R1D_ASSIGN_OR_RETURN(m->output_norm_, w.Vector("output_norm.weight", E));
  R1D_ASSIGN_OR_RETURN(m->output_, w.Matrix("output.weight", E, hp.n_vocab));
  for (int64_t i = 0; i < hp.n_layer; ++i) R1D_RETURN_IF_ERROR(m->LoadLayer(w, f, i));
  // MLA: every head reads the same latent; head_dim reports the key size per head.
  m->info_ = {"deepseek2", hp.n_vocab, hp.n_ctx_train, E,
              hp.n_layer,  hp.n_head,  hp.n_head,      hp.head_k};
  m->file_ = std::move(file);
  return std::unique_ptr<Model>(std::move(m));
}

Status Deepseek2Model::ForwardBatch(ThreadPool& pool, const BatchEntry* entries,
                                    int64_t n_entries) {
  if (n_entries <= 0) return Status::Error("no sequences to evaluate");
  int64_t n = 0;
  for (int64_t i = 0; i < n_entries; ++i) {
    const BatchEntry& en = entries[i];
    R1D_CHECK(en.state != nullptr);
    if (en.n <= 0) return Status::Error("no tokens to evaluate");
    if (en.pos0 < 0 || en.pos0 + en.n > en.state->capacity()) {
      return Status::Error("context is full: " + std::to_string(en.pos0 + en.n) +
                           " positions needed, " + std::to_string(en.state->capacity()) +
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
  const int64_t E = hp_.n_embd, half_rot = hp_.n_rot / 2;
  x_.resize(n * E);
  cur_.resize(n * E);
  tmp_.resize(n * E);
  rope_cos_.resize(n * half_rot);
  rope_sin_.resize(n * half_rot);
  owner_.resize(n);
  pos_.resize(n);
  tokens_.resize(n);
  first_row_.resize(n_entries);
  wanted_rows_.clear();
  for (int64_t i = 0, t = 0; i < n_entries; ++i) {
    first_row_[i] = t;
    for (int64_t j = 0; j < entries[i].n; ++j, ++t) {
      owner_[t] = i;
      pos_[t] = entries[i].pos0 + j;
      tokens_[t] = entries[i].tokens[j];
    }
    if (entries[i].logits != nullptr) wanted_rows_.push_back(t - 1);
  }
  const kernels::TypeKernels* embd_k = kernels::GetKernels(tok_embd_.type);
  const int64_t embd_row = tok_embd_.row_bytes();
  pool.ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      embd_k->dequantize_row(static_cast<const uint8_t*>(tok_embd_.data) + tokens_[t] * embd_row,
                             x_.data() + t * E, E);
      Deepseek2RopeAngles(hp_, pos_[t], rope_cos_.data() + t * half_rot,
                          rope_sin_.data() + t * half_rot);
    }
  });
  const MlaBatch batch{entries,     n_entries,        first_row_.data(), owner_.data(),
                       pos_.data(), rope_cos_.data(), rope_sin_.data()};

  int64_t rows = n;  // rows still computed (the last block only needs the wanted ones)
  for (int64_t il = 0; il < hp_.n_layer; ++il) {
    const Layer& L = layers_[il];
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        kernels::RmsNorm(x_.data() + t * E, L.attn_norm, E, hp_.eps, cur_.data() + t * E);
      }
    });
    attention_.Run(pool, hp_, L.attn, il, batch, cur_.data(), n, tmp_.data());
    for (int64_t i = 0; i < n * E; ++i) x_[i] += tmp_[i];
    if (il == hp_.n_layer - 1) {
      // Like llama.cpp, the last block's feed-forward runs only for the rows whose logits are
      // wanted (which also decides the order of its products, as there).
      rows = static_cast<int64_t>(wanted_rows_.size());
      for (int64_t j = 0; j < rows; ++j) {
        std::copy(x_.begin() + wanted_rows_[j] * E, x_.begin() + (wanted_rows_[j] + 1) * E,
                  x_.begin() + j * E);
      }
      if (rows == 0) return Status::Ok();
    }
    pool.ParallelFor(rows, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        kernels::RmsNorm(x_.data() + t * E, L.ffn_norm, E, hp_.eps, cur_.data() + t * E);
      }
    });
    if (L.dense) {
      DenseFfn(pool, L.gate, L.up, L.down, cur_.data(), rows, tmp_.data(), gate_, up_, mm_);
    } else {
      moe_.Run(pool, hp_, L.moe, cur_.data(), rows, tmp_.data());
    }
    for (int64_t i = 0; i < rows * E; ++i) x_[i] += tmp_[i];
  }

  const int64_t m = rows;
  for (int64_t j = 0; j < m; ++j) {
    kernels::RmsNorm(x_.data() + j * E, output_norm_, E, hp_.eps, cur_.data() + j * E);
  }
  logits_.resize(m * hp_.n_vocab);
  kernels::MatMul(pool, output_, cur_.data(), m, logits_.data(), mm_);
  for (int64_t j = 0, i = 0; i < n_entries; ++i) {
    if (entries[i].logits == nullptr) continue;
    std::copy(logits_.begin() + j * hp_.n_vocab, logits_.begin() + (j + 1) * hp_.n_vocab,
              entries[i].logits);
    ++j;
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Model>> LoadDeepseek2(std::unique_ptr<formats::GgufFile> file,
                                             const Deepseek2Options& options) {
  return Deepseek2Model::Load(std::move(file), options);
}

}  // namespace r1d::models
