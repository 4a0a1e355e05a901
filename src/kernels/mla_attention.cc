#include "kernels/mla_attention.h"

#include <algorithm>
#include <cmath>

#include "core/fp16.h"
#include "kernels/attention_block.h"
#include "kernels/attention_f16_order.h"
#include "kernels/attention_tiny.h"
#include "kernels/elementwise.h"

namespace r1d::kernels {

// The graph llama.cpp (early 2025) runs for DeepSeek-V2 attention, per query row and head:
//   kq  = K . f16(q)          (F16 product of dk elements; tinyBLAS order for 2+ tokens)
//   p   = softmax(kq * scale)
//   out = V^T . f16(p)        (over the padded cell count; tinyBLAS or vec_dot order)
// K and V sizes differ, so each product picks its order on its own shape. Jobs are (block of
// consecutive tokens, head): the block's rows share the key rows of their head.
void CausalAttentionKv(ThreadPool& pool, const MlaShape& shape, const DecompressedKv& kv,
                       const float* q, int64_t n, int64_t pos0, float* out) {
  const int64_t dk = shape.dk, dv = shape.dv;
  const int64_t q_dim = shape.n_head * dk, o_dim = shape.n_head * dv;
  constexpr int64_t kBlock = tiny_attention::kMaxQueries;
  BlockShape b;
  b.dk = dk;
  b.dv = dv;
  b.n_kv_pad = (pos0 + n + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
  b.scale = shape.scale;
  b.tiny_kq = n >= 2 && dk % 16 == 0;
  b.tiny_kqv = n >= 2 && b.n_kv_pad % 16 == 0 && dv % 4 == 0;
  b.vt_len = kv.vt_len;
  const int64_t n_jobs = (n + kBlock - 1) / kBlock * shape.n_head;
  pool.Run([&](int ith, int nth) {
    BlockScratch& s = ThreadBlockScratch();
    for (int64_t job = ith; job < n_jobs; job += nth) {
      const int64_t t0 = job / shape.n_head * kBlock, h = job % shape.n_head;
      QueryRow rows[kBlock];
      int nq = 0;
      for (int64_t t = t0; t < std::min(n, t0 + kBlock); ++t, ++nq) {
        rows[nq] = QueryRow{q + t * q_dim + h * dk, pos0 + t + 1, out + t * o_dim + h * dv};
      }
      const int64_t n_keys = rows[nq - 1].n_kv;
      s.k_rows.resize(n_keys);
      for (int64_t j = 0; j < n_keys; ++j) s.k_rows[j] = kv.k + j * kv.k_stride + h * dk;
      s.vt_rows.resize(dv);
      for (int64_t d = 0; d < dv; ++d) s.vt_rows[d] = kv.vt + (h * dv + d) * kv.vt_len;
      AttendBlock(b, rows, nq, s);
    }
  });
}

// Absorbed attention. Two passes over the cached rows, each row dequantized once per pass and
// shared by all heads: scores (then a softmax per head), then the probability-weighted sum of
// the latents, accumulated per thread over a contiguous range of positions and reduced in
// thread order (deterministic for a given pool size).
void LatentAttention(ThreadPool& pool, int64_t n_head, int64_t rank, int64_t rope, float scale,
                     const LatentKvView& kv, const float* q, int64_t n, int64_t pos0, float* out,
                     std::vector<std::vector<float>>& scratch) {
  const int64_t w = rank + rope;
  const int nth_max = pool.size();
  scratch.resize(nth_max + 1);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t n_kv = pos0 + t + 1;
    const float* qt = q + t * n_head * w;
    std::vector<float>& scores = scratch[nth_max];  // [n_head][n_kv]
    scores.resize(n_head * n_kv);
    pool.Run([&](int ith, int nth) {
      std::vector<float>& buf = scratch[ith];
      buf.resize(w + n_head * rank);
      float* row = buf.data();
      const int64_t j0 = n_kv * ith / nth, j1 = n_kv * (ith + 1) / nth;
      for (int64_t j = j0; j < j1; ++j) {
        const uint8_t* r = kv.Row(j);
        kv.dequantize(r, row, rank);
        const auto* pe = reinterpret_cast<const uint16_t*>(r + kv.latent_bytes);
        for (int64_t d = 0; d < rope; ++d) row[rank + d] = Fp16ToFp32(pe[d]);
        for (int64_t h = 0; h < n_head; ++h) {
          scores[h * n_kv + j] = DotLanes8(qt + h * w, row, w) * scale;
        }
      }
    });
    pool.ParallelFor(n_head, [&](int64_t hb, int64_t he) {
      for (int64_t h = hb; h < he; ++h) {
        float* s = scores.data() + h * n_kv;
        float max = -INFINITY;
        for (int64_t j = 0; j < n_kv; ++j) max = std::max(max, s[j]);
        double sum = 0;
        for (int64_t j = 0; j < n_kv; ++j) {
          s[j] = std::exp(s[j] - max);
          sum += s[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < n_kv; ++j) s[j] *= inv;
      }
    });
    pool.Run([&](int ith, int nth) {
      std::vector<float>& buf = scratch[ith];
      float* row = buf.data();
      float* acc = buf.data() + w;
      std::fill(acc, acc + n_head * rank, 0.0f);
      const int64_t j0 = n_kv * ith / nth, j1 = n_kv * (ith + 1) / nth;
      for (int64_t j = j0; j < j1; ++j) {
        kv.dequantize(kv.Row(j), row, rank);
        for (int64_t h = 0; h < n_head; ++h) Axpy(scores[h * n_kv + j], row, acc + h * rank, rank);
      }
    });
    float* ot = out + t * n_head * rank;
    std::fill(ot, ot + n_head * rank, 0.0f);
    for (int i = 0; i < pool.size(); ++i) {
      const float* acc = scratch[i].data() + w;
      for (int64_t k = 0; k < n_head * rank; ++k) ot[k] += acc[k];
    }
  }
}

}  // namespace r1d::kernels
