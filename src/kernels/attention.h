#pragma once
// Causal attention of a batch of query tokens over an F16 KV cache (one sequence).
#include <cstdint>

#include "core/thread_pool.h"

namespace r1d::kernels {

struct AttentionShape {
  int64_t n_head = 0;     // query heads
  int64_t n_head_kv = 0;  // key/value heads (n_head is a multiple: grouped-query attention)
  int64_t head_dim = 0;
  float scale = 1.0f;  // applied to q.k before the softmax
};

// K and V rows of one layer in a paged cache: positions are grouped in blocks of block_tokens;
// position p lives in block p / block_tokens at row p % block_tokens, and its key for kv head h
// starts at K(p) + h * D. A contiguous cache is one block.
struct KvView {
  const uint16_t* const* k_blocks = nullptr;  // F16, one base pointer per block
  const uint16_t* const* v_blocks = nullptr;
  int64_t block_tokens = 0;
  int64_t kv_stride = 0;  // elements between positions inside a block
  const uint16_t* K(int64_t p) const {
    return k_blocks[p / block_tokens] + (p % block_tokens) * kv_stride;
  }
  const uint16_t* V(int64_t p) const {
    return v_blocks[p / block_tokens] + (p % block_tokens) * kv_stride;
  }
};

// One sequence's part of a batched attention: n query rows at positions pos0.. over its cache.
struct AttentionEntry {
  KvView kv;
  const float* q = nullptr;  // [n][n_head * D]
  int64_t n = 0;
  int64_t pos0 = 0;
  float* out = nullptr;  // [n][n_head * D]
};

// CausalAttention for several sequences at once, in one parallel region (a decode step of many
// sequences would otherwise pay one thread wake-up per sequence and layer).
void CausalAttentionBatch(ThreadPool& pool, const AttentionShape& shape,
                          const AttentionEntry* entries, int64_t n_entries);

// For each token t in [0, n) at position pos0 + t and each head: softmax(q.K^T * scale) V over
// positions [0, pos0 + t]. q: [n][n_head * D]; out: [n][n_head * D].
void CausalAttention(ThreadPool& pool, const AttentionShape& shape, const KvView& kv,
                     const float* q, int64_t n, int64_t pos0, float* out);

}  // namespace r1d::kernels
