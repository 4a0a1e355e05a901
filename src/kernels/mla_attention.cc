#include "kernels/mla_attention.h"

#include <algorithm>
#include <cmath>

#include "core/fp16.h"
#include "kernels/attention_f16_order.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {
namespace {

using f16_order::kKvPad;
using f16_order::SoftmaxToF16;

}  // namespace

// The graph llama.cpp (early 2025) runs for DeepSeek-V2 attention, per query row and head:
//   kq  = K . f16(q)          (F16 product of dk elements; tinyBLAS order for 2+ tokens)
//   p   = softmax(kq * scale)
//   out = V^T . f16(p)        (over the padded cell count; tinyBLAS or vec_dot order)
// K and V sizes differ, so each product picks its order on its own shape.
void CausalAttentionKv(ThreadPool& pool, const MlaShape& shape, const DecompressedKv& kv,
                       const float* q, int64_t n, int64_t pos0, float* out,
                       std::vector<std::vector<float>>& scratch) {
  const int64_t dk = shape.dk, dv = shape.dv;
  const int64_t q_dim = shape.n_head * dk, o_dim = shape.n_head * dv;
  const int64_t n_kv_pad = (pos0 + n + kKvPad - 1) / kKvPad * kKvPad;
  const bool tiny_kq = n >= 2 && dk % 16 == 0;
  const bool tiny_kqv = n >= 2 && n_kv_pad % 16 == 0 && dv % 4 == 0;
  scratch.resize(pool.size());
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  pool.Run([&](int ith, int nth) {
    std::vector<float>& buf = scratch[ith];
    const int64_t lanes = tiny_kqv ? 16 : 64;
    buf.resize(n_kv_pad + dk / 2 + 1 + n_kv_pad / 2 + 1 + lanes * dv + dv);
    float* scores = buf.data();
    auto* q16 = reinterpret_cast<uint16_t*>(scores + n_kv_pad);
    auto* p16 = reinterpret_cast<uint16_t*>(scores + n_kv_pad + dk / 2 + 1);
    float* acc = scores + n_kv_pad + dk / 2 + 1 + n_kv_pad / 2 + 1;
    float* fold = acc + lanes * dv;
    for (int64_t job = ith; job < n * shape.n_head; job += nth) {
      const int64_t t = job / shape.n_head, h = job % shape.n_head;
      const int64_t n_kv = pos0 + t + 1;
      const float* qh = q + t * q_dim + h * dk;
      f16_order::ToF16Row(qh, q16, dk);
      float max = -INFINITY;
      for (int64_t j = 0; j < n_kv; ++j) {
        const uint16_t* k = kv.k + j * kv.k_stride + h * dk;
        const float kq = tiny_kq ? fk.tiny_blas_dot_f16(k, q16, dk) : fk.vec_dot_f16(k, q16, dk);
        scores[j] = kq * shape.scale;
        max = std::max(max, scores[j]);
      }
      SoftmaxToF16(fk, scores, max, n_kv, p16);

      float* o = out + t * o_dim + h * dv;
      f16_order::WeightedSumF16(
          fk, tiny_kqv, p16, n_kv, n_kv_pad,
          [&](int64_t j) { return kv.v + j * kv.v_stride + h * dv; }, dv, acc, fold, o);
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
          const float* qh = qt + h * w;
          float acc[8] = {};
          int64_t d = 0;
          for (; d + 8 <= w; d += 8) {
            for (int l = 0; l < 8; ++l) acc[l] += qh[d + l] * row[d + l];
          }
          float s =
              ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
          for (; d < w; ++d) s += qh[d] * row[d];
          scores[h * n_kv + j] = s * scale;
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
        for (int64_t h = 0; h < n_head; ++h) {
          const float p = scores[h * n_kv + j];
          float* a = acc + h * rank;
          for (int64_t c = 0; c < rank; ++c) a[c] += p * row[c];
        }
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
