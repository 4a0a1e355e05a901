#include "kernels/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/fp16.h"
#include "kernels/attention_f16_order.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {
namespace {

using f16_order::kKvPad;

// Per-thread buffers for one (query row, head) job.
struct JobBuffers {
  float* scores;
  uint16_t* q16;
  uint16_t* p16;
  float* acc;
  float* fold;
};

// Mirrors llama.cpp's CPU graph for one query row and head, bit for bit:
//   kq = K . f16(q)               (F16 matrix product; vec_dot order for single-token batches,
//                                  tinyBLAS order for larger ones)
//   p  = softmax(kq * scale)      (ggml_v_expf; sums of 16-wide chunks accumulated in double)
//   out = V^T . f16(p)            (F16 matrix product over the padded cell count, same rule)
void AttendOne(const AttentionShape& shape, const AttentionEntry& e, int64_t t, int64_t h,
               const JobBuffers& b) {
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  const int64_t D = shape.head_dim;
  const int64_t q_dim = shape.n_head * D;
  const int64_t group = shape.n_head / shape.n_head_kv;
  const int64_t n_kv_pad = (e.pos0 + e.n + kKvPad - 1) / kKvPad * kKvPad;
  // tinyBLAS takes the batch when there are 2+ tokens and its tiling fits both products.
  const bool tiny = e.n >= 2 && D % 16 == 0 && n_kv_pad % 16 == 0 && D % 4 == 0;
  const KvView& kv = e.kv;
  float* scores = b.scores;
  uint16_t* q16 = b.q16;
  uint16_t* p16 = b.p16;
  const int64_t hk = h / group;
  const int64_t n_kv = e.pos0 + t + 1;  // causal: positions [0, pos0 + t]
  const float* qh = e.q + t * q_dim + h * D;
  f16_order::ToF16Row(qh, q16, D);
  float max = -INFINITY;
  for (int64_t j = 0; j < n_kv; ++j) {
    const uint16_t* k = kv.K(j) + hk * D;
    const float kq = tiny ? fk.tiny_blas_dot_f16(k, q16, D) : fk.vec_dot_f16(k, q16, D);
    scores[j] = kq * shape.scale;
    max = std::max(max, scores[j]);
  }
  // Softmax: the masked cells are exact zeros inside their 16-wide chunk.
  f16_order::SoftmaxToF16(fk, scores, max, n_kv, p16);
  f16_order::WeightedSumF16(
      fk, tiny, p16, n_kv, n_kv_pad, [&](int64_t j) { return kv.V(j) + hk * D; }, D, b.acc, b.fold,
      e.out + t * q_dim + h * D);
}

}  // namespace

void CausalAttentionBatch(ThreadPool& pool, const AttentionShape& shape,
                          const AttentionEntry* entries, int64_t n_entries,
                          std::vector<std::vector<float>>& scratch) {
  const int64_t D = shape.head_dim;
  // Jobs are (entry, query row, head) triples, numbered entry by entry, handed out dynamically:
  // a decode step of many sequences is one parallel region, not one per sequence.
  std::vector<int64_t> first_job(static_cast<size_t>(n_entries) + 1, 0);
  int64_t max_kv_pad = 0;
  for (int64_t i = 0; i < n_entries; ++i) {
    first_job[i + 1] = first_job[i] + entries[i].n * shape.n_head;
    max_kv_pad =
        std::max(max_kv_pad, (entries[i].pos0 + entries[i].n + kKvPad - 1) / kKvPad * kKvPad);
  }
  const int64_t n_jobs = first_job[n_entries];
  if (n_jobs == 0) return;
  scratch.resize(pool.size());
  std::atomic<int64_t> next{0};
  pool.Run([&](int ith, int) {
    std::vector<float>& buf = scratch[ith];
    const int64_t lanes = 64;  // the larger of the two orders' accumulator counts
    buf.resize(max_kv_pad + D / 2 + 1 + max_kv_pad / 2 + 1 + lanes * D + D);
    JobBuffers b;
    b.scores = buf.data();
    b.q16 = reinterpret_cast<uint16_t*>(b.scores + max_kv_pad);
    b.p16 = reinterpret_cast<uint16_t*>(b.scores + max_kv_pad + D / 2 + 1);
    b.acc = b.scores + max_kv_pad + D / 2 + 1 + max_kv_pad / 2 + 1;
    b.fold = b.acc + lanes * D;
    int64_t entry = 0;
    for (;;) {
      const int64_t job = next.fetch_add(1, std::memory_order_relaxed);
      if (job >= n_jobs) return;
      while (first_job[entry + 1] <= job) ++entry;  // jobs rise, so the entry only advances
      const int64_t local = job - first_job[entry];
      AttendOne(shape, entries[entry], local / shape.n_head, local % shape.n_head, b);
    }
  });
}

void CausalAttention(ThreadPool& pool, const AttentionShape& shape, const KvView& kv,
                     const float* q, int64_t n, int64_t pos0, float* out,
                     std::vector<std::vector<float>>& scratch) {
  const AttentionEntry entry{kv, q, n, pos0, out};
  CausalAttentionBatch(pool, shape, &entry, 1, scratch);
}

}  // namespace r1d::kernels
