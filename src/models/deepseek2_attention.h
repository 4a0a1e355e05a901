#pragma once
// Multi-head latent attention (MLA) of DeepSeek-V2/V3. The KV cache keeps, per position and
// layer, only the normalized latent (kv_lora_rank values) and the RoPE'd shared key part
// (n_rot F16 values): 576 values of 2 bytes for V3 instead of 128 heads x (192 + 128).
// The latent is stored in the format attn_kv_b's product consumes (F16 for F16 weights, Q8_0
// blocks for Q8_0 weights, ...; see MlaLatentType): exactly the rounding llama.cpp applies to
// it before decompressing, so prefill reproduces the reference and decode sees the same
// values. (A latent rounded to F16 and then re-quantized to Q8_0 moved the Q8_0 reference's
// probabilities by up to 0.02.)
//  * Prefill (an entry with 2+ tokens) decompresses its cached latents through attn_kv_b into
//    per-head F16 K/V, as llama.cpp's graph does, and runs ordinary attention.
//  * Decode (one token) uses the absorbed form: q_nope is multiplied into the latent space
//    (q . W_kb), attention runs over the latent rows directly, and W_vb is applied to the
//    attended latent; the cache is never decompressed.
//    Exception: while decompressing the sequence's latents costs at most `decompress_budget`
//    multiply-adds per layer (short contexts, tiny models), decode decompresses too. That
//    path reproduces llama.cpp's F16-cache rounding (which the absorbed form cannot: on the
//    tiny Q8_0 test model the absorbed form moves probabilities by up to 0.027, the
//    decompressing one by 1e-4); for real models it only covers the first few tokens.
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "models/deepseek2_hparams.h"
#include "models/model.h"
#include "tensor/dtype.h"

namespace r1d::models {

struct MlaWeights {
  kernels::WeightView wq;          // attn_q (no q_lora) ...
  kernels::WeightView wq_a, wq_b;  // ... or attn_q_a -> norm -> attn_q_b
  const float* q_a_norm = nullptr;
  kernels::WeightView wkv_a;  // attn_kv_a_mqa {n_embd, rank + rope}
  const float* kv_a_norm = nullptr;
  kernels::WeightView wkv_b;  // {rank, n_head * (nope + v)}
  kernels::WeightView wo;
  tensor::DType latent_type = tensor::DType::kF16;  // MlaLatentType(hp, wkv_b.type)
};

// Bytes per cached position and layer: kv_lora_rank + n_rot values of 2 bytes (a latent in a
// format of at most 2 bytes per value, then the RoPE part in F16).
inline int64_t MlaCacheRowBytes(const Deepseek2HParams& hp) {
  return 2 * (hp.kv_lora_rank + hp.n_rot);
}
// attn_kv_b's vec-dot (activation) type when it fits in 2 bytes per value, else F16 (F32
// weights).
tensor::DType MlaLatentType(const Deepseek2HParams& hp, tensor::DType wkv_b_type);

// The rows of one forward pass: row t belongs to entry owner[t] at position pos[t]; the rotation
// of row t is rope_cos/sin + t * n_rot / 2.
struct MlaBatch {
  const BatchEntry* entries = nullptr;
  int64_t n_entries = 0;
  const int64_t* first_row = nullptr;
  const int64_t* owner = nullptr;
  const int64_t* pos = nullptr;
  const float* rope_cos = nullptr;
  const float* rope_sin = nullptr;
};

class MlaAttention {
 public:
  // 2^24 multiply-adds per layer: V2-Lite decompresses for 8 positions, V3 for 1; past that
  // the absorbed form costs less (measured on V2-Lite: decompressing 16+ positions per token
  // took longer than the absorbed attention). Tiny models decompress for thousands.
  static constexpr int64_t kDefaultDecompressBudget = int64_t{1} << 24;
  void set_decompress_budget(int64_t macs) { decompress_budget_ = macs; }

  // cur: the normalized input [n][n_embd]; out: [n][n_embd] (after attn_output). Writes this
  // layer's cache rows for every token of the batch.
  void Run(ThreadPool& pool, const Deepseek2HParams& hp, const MlaWeights& w, int64_t layer,
           const MlaBatch& batch, const float* cur, int64_t n, float* out);

 private:
  void Prefill(ThreadPool& pool, const Deepseek2HParams& hp, const MlaWeights& w, int64_t layer,
               const BatchEntry& e, int64_t row0);
  void DecodeRows(ThreadPool& pool, const Deepseek2HParams& hp, const MlaWeights& w, int64_t layer,
                  const MlaBatch& batch, const std::vector<int64_t>& rows);

  int64_t decompress_budget_ = kDefaultDecompressBudget;
  std::vector<float> qa_, q_, kv_a_, attn_, latent_, kvd_, q_abs_, o_lat_;
  std::vector<uint8_t> act_;
  std::vector<uint16_t> kvd16_, k16_, vt16_;
  std::vector<const uint8_t*> blocks_;
  std::vector<std::vector<float>> scratch_;
  kernels::MatMulScratch mm_;
};

}  // namespace r1d::models
