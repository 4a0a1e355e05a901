#pragma once
// Attention kernels for multi-head latent attention (MLA, DeepSeek-V2/V3):
//  * CausalAttentionKv: keys and values already decompressed to F16 per head (values
//    transposed), with key and value sizes that differ (e.g. 192 / 128). Same numerics as
//    kernels/attention.h (llama.cpp's non-flash CPU path); used for prefill.
//  * LatentAttention: the absorbed form used for decode. Queries are already multiplied into
//    the latent space (q_nope . W_kb) and concatenated with the RoPE part; every cached position
//    is one F16 row [latent | rope] shared by all heads, so nothing is decompressed. The output
//    stays in the latent space (the caller applies W_vb per head).
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace r1d::kernels {

// F16 keys and values of one sequence and layer: position p's key for head h at
// k + p * k_stride + h * dk; the values transposed, head h's output d for every position along
// vt + (h * dv + d) * vt_len, vt_len at least the positions rounded up to 32 (llama.cpp's cell
// padding), zero past the last position.
struct DecompressedKv {
  const uint16_t* k = nullptr;
  int64_t k_stride = 0;
  const uint16_t* vt = nullptr;
  int64_t vt_len = 0;
};

struct MlaShape {
  int64_t n_head = 0;
  int64_t dk = 0;  // query/key size per head
  int64_t dv = 0;  // value size per head
  float scale = 1.0f;
};

// q: [n][n_head * dk]; out: [n][n_head * dv]; token t sees positions [0, pos0 + t].
void CausalAttentionKv(ThreadPool& pool, const MlaShape& shape, const DecompressedKv& kv,
                       const float* q, int64_t n, int64_t pos0, float* out);

// The latent cache of one sequence and layer: position p's row is at
// blocks[p / block_tokens] + (p % block_tokens) * row_bytes and holds the latent (rank values
// in whatever format `dequantize` reads) followed, at latent_bytes, by the RoPE part (rope F16
// values).
struct LatentKvView {
  const uint8_t* const* blocks = nullptr;
  int64_t block_tokens = 0;
  int64_t row_bytes = 0;
  int64_t latent_bytes = 0;
  void (*dequantize)(const void* src, float* dst, int64_t n) = nullptr;
  const uint8_t* Row(int64_t p) const {
    return blocks[p / block_tokens] + (p % block_tokens) * row_bytes;
  }
};

// Decode-time attention in the latent space, in F32 (the latent rows are read, never
// decompressed per head). q: [n][n_head][rank + rope] (absorbed nope part, then the roped
// part); out: [n][n_head][rank] = sum_p softmax_p(q . [latent_p | rope_p] * scale) latent_p.
// Token t sees positions [0, pos0 + t].
void LatentAttention(ThreadPool& pool, int64_t n_head, int64_t rank, int64_t rope, float scale,
                     const LatentKvView& kv, const float* q, int64_t n, int64_t pos0, float* out,
                     std::vector<std::vector<float>>& scratch);

}  // namespace r1d::kernels
