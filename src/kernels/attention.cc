#include "kernels/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/fp16.h"
#include "kernels/attention_block.h"
#include "kernels/attention_f16_order.h"
#include "kernels/attention_tiny.h"
#include "kernels/attention_vec_dot.h"

namespace r1d::kernels {
namespace {

using f16_order::kKvPad;

// Cell j's key (and value, unless the values come transposed) for kv head hk, j < n, walking
// the cache's blocks.
void FillRows(const KvView& kv, int64_t hk, int64_t D, int64_t n, bool values, BlockScratch& s) {
  s.k_rows.resize(n);
  s.v_rows.resize(values ? n : 0);
  for (int64_t j = 0, b = 0; j < n; ++b) {
    const uint16_t* k = kv.k_blocks[b] + hk * D;
    const uint16_t* v = kv.v_blocks[b] + hk * D;
    for (int64_t r = 0; r < kv.block_tokens && j < n; ++r, ++j) {
      s.k_rows[j] = k + r * kv.kv_stride;
      if (values) s.v_rows[j] = v + r * kv.kv_stride;
    }
  }
}

// A multi-token entry's values transposed once per call, as llama.cpp's non-flash cache holds
// them: row (hk, d) has output d of kv head hk for every cell, zero-padded to `len`. Every
// query row of the entry reads them; the cache's own layout (cell-major) would have each block
// of rows stride through all cells once per output chunk.
struct TransposedValues {
  int64_t offset = -1;  // into the call's buffer; -1: none (single-token entries)
  int64_t len = 0;
};

void TransposeValues(ThreadPool& pool, const KvView& kv, int64_t n_rows, int64_t n_cells,
                     int64_t len, uint16_t* vt) {
  pool.ParallelFor(n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      uint16_t* dst = vt + row * len;
      int64_t j = 0;
      for (int64_t b = 0; j < n_cells; ++b) {
        const uint16_t* v = kv.v_blocks[b] + row;  // row = hk * D + d
        for (int64_t r = 0; r < kv.block_tokens && j < n_cells; ++r, ++j) {
          dst[j] = v[r * kv.kv_stride];
        }
      }
      std::fill(dst + n_cells, dst + len, uint16_t{0});
    }
  });
}

}  // namespace

// Mirrors llama.cpp's CPU graph for each query row and head, bit for bit:
//   kq = K . f16(q)               (F16 matrix product; vec_dot order for single-token batches,
//                                  tinyBLAS order for larger ones)
//   p  = softmax(kq * scale)      (ggml_v_expf; sums of 16-wide chunks accumulated in double)
//   out = V^T . f16(p)            (F16 matrix product over the padded cell count, same rule)
// The query rows of one kv head (its group's heads at each token, token-major) go in blocks
// that share the key and value rows: of tiny_attention::kMaxQueries rows for multi-token
// entries, of up to vec_dot_attention::kMaxVectors (a single token's whole group, where the
// threads still get a job each) for single-token ones.
void CausalAttentionBatch(ThreadPool& pool, const AttentionShape& shape,
                          const AttentionEntry* entries, int64_t n_entries) {
  const int64_t D = shape.head_dim;
  const int64_t group = shape.n_head / shape.n_head_kv;
  const int64_t q_dim = shape.n_head * D;
  constexpr int64_t kBlock = tiny_attention::kMaxQueries;
  int64_t single_tokens = 0;
  for (int64_t i = 0; i < n_entries; ++i) single_tokens += entries[i].n == 1;
  const int64_t single_jobs = std::max<int64_t>(1, single_tokens * shape.n_head_kv);
  const int64_t splits = std::max<int64_t>(1, (pool.size() + single_jobs - 1) / single_jobs);
  const int64_t decode_block =
      std::min<int64_t>(vec_dot_attention::kMaxVectors, (group + splits - 1) / splits);
  auto block_rows = [&](const AttentionEntry& e) { return e.n == 1 ? decode_block : kBlock; };
  // Jobs are (entry, kv head, block of query rows) triples, numbered entry by entry, handed out
  // dynamically: a decode step of many sequences is one parallel region, not one per sequence.
  std::vector<int64_t> first_job(static_cast<size_t>(n_entries) + 1, 0);
  for (int64_t i = 0; i < n_entries; ++i) {
    const int64_t rows = block_rows(entries[i]);
    const int64_t blocks = (entries[i].n * group + rows - 1) / rows;
    first_job[i + 1] = first_job[i] + shape.n_head_kv * blocks;
  }
  const int64_t n_jobs = first_job[n_entries];
  if (n_jobs == 0) return;
  // Transposed values of the multi-token entries (the tinyBLAS path), in one buffer the
  // calling thread keeps between calls.
  thread_local std::vector<uint16_t> vt_buffer;
  std::vector<TransposedValues> vt(n_entries);
  int64_t vt_total = 0;
  for (int64_t i = 0; i < n_entries; ++i) {
    if (entries[i].n < 2 || D % 16 != 0) continue;
    vt[i].offset = vt_total;
    vt[i].len = (entries[i].pos0 + entries[i].n + kKvPad - 1) / kKvPad * kKvPad;
    vt_total += shape.n_head_kv * D * vt[i].len;
  }
  vt_buffer.resize(vt_total);
  uint16_t* const vt_base = vt_buffer.data();  // the workers' own thread_local is another one
  for (int64_t i = 0; i < n_entries; ++i) {
    if (vt[i].offset < 0) continue;
    TransposeValues(pool, entries[i].kv, shape.n_head_kv * D, entries[i].pos0 + entries[i].n,
                    vt[i].len, vt_base + vt[i].offset);
  }
  std::atomic<int64_t> next{0};
  pool.Run([&](int, int) {
    BlockScratch& s = ThreadBlockScratch();
    int64_t entry = 0;
    for (;;) {
      const int64_t job = next.fetch_add(1, std::memory_order_relaxed);
      if (job >= n_jobs) return;
      while (first_job[entry + 1] <= job) ++entry;  // jobs rise, so the entry only advances
      const AttentionEntry& e = entries[entry];
      const int64_t n_items = e.n * group, per_block = block_rows(e);
      const int64_t blocks = (n_items + per_block - 1) / per_block;
      const int64_t local = job - first_job[entry];
      const int64_t hk = local / blocks, item0 = local % blocks * per_block;
      BlockShape b;
      b.dk = b.dv = D;
      b.n_kv_pad = (e.pos0 + e.n + kKvPad - 1) / kKvPad * kKvPad;
      b.scale = shape.scale;
      // tinyBLAS takes the batch when there are 2+ tokens and its tiling fits both products.
      b.tiny_kq = b.tiny_kqv = e.n >= 2 && D % 16 == 0 && b.n_kv_pad % 16 == 0;
      QueryRow rows[std::max<int64_t>(kBlock, vec_dot_attention::kMaxVectors)];
      int nq = 0;
      for (int64_t i = item0; i < std::min(n_items, item0 + per_block); ++i, ++nq) {
        const int64_t t = i / group, h = hk * group + i % group;
        rows[nq] = QueryRow{e.q + t * q_dim + h * D, e.pos0 + t + 1, e.out + t * q_dim + h * D};
      }
      const bool transposed = vt[entry].offset >= 0;
      FillRows(e.kv, hk, D, rows[nq - 1].n_kv, !transposed, s);  // the last row sees the most
      if (transposed) {
        b.vt_len = vt[entry].len;
        s.vt_rows.resize(D);
        const uint16_t* base = vt_base + vt[entry].offset + hk * D * b.vt_len;
        for (int64_t d = 0; d < D; ++d) s.vt_rows[d] = base + d * b.vt_len;
      }
      AttendBlock(b, rows, nq, s);
    }
  });
}

void CausalAttention(ThreadPool& pool, const AttentionShape& shape, const KvView& kv,
                     const float* q, int64_t n, int64_t pos0, float* out) {
  const AttentionEntry entry{kv, q, n, pos0, out};
  CausalAttentionBatch(pool, shape, &entry, 1);
}

}  // namespace r1d::kernels
