#include "models/deepseek2_attention.h"

#include <algorithm>

#include "core/fp16.h"
#include "kernels/attention_f16_order.h"
#include "kernels/elementwise.h"
#include "kernels/mla_attention.h"
#include "kernels/ops.h"
#include "models/deepseek2_moe.h"

namespace r1d::models {
namespace {

// Cache block layout: [layer][block_tokens][row] with row = [latent | k_pe F16].
uint8_t* CacheRow(const SequenceState& s, int64_t row_bytes, int64_t layer, int64_t pos) {
  const KvBlockPool& pool = s.pool();
  const int64_t B = pool.block_tokens();
  return pool.Data(s.blocks()[pos / B]) + (layer * B + pos % B) * row_bytes;
}

}  // namespace

tensor::DType MlaLatentType(const Deepseek2HParams& hp, tensor::DType wkv_b_type) {
  const kernels::TypeKernels* k = kernels::GetKernels(wkv_b_type);
  if (k != nullptr && kernels::GetKernels(k->vec_dot_type) != nullptr &&
      tensor::RowBytes(k->vec_dot_type, hp.kv_lora_rank) <= 2 * hp.kv_lora_rank) {
    return k->vec_dot_type;
  }
  return tensor::DType::kF16;
}

void MlaAttention::Run(ThreadPool& pool, const Deepseek2HParams& hp, const MlaWeights& w,
                       int64_t layer, const MlaBatch& batch, const float* cur, int64_t n,
                       float* out) {
  const int64_t H = hp.n_head, dk = hp.head_k, dv = hp.head_v, nope = hp.nope();
  const int64_t rank = hp.kv_lora_rank, rot = hp.n_rot, W = rank + rot;
  const int64_t row_bytes = MlaCacheRowBytes(hp);
  q_.resize(n * H * dk);
  if (hp.q_lora_rank > 0) {
    qa_.resize(n * hp.q_lora_rank);
    kernels::MatMul(pool, w.wq_a, cur, n, qa_.data(), mm_);
    pool.ParallelFor(n, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        float* r = qa_.data() + t * hp.q_lora_rank;
        kernels::RmsNorm(r, w.q_a_norm, hp.q_lora_rank, hp.eps, r);
      }
    });
    kernels::MatMul(pool, w.wq_b, qa_.data(), n, q_.data(), mm_);
  } else {
    kernels::MatMul(pool, w.wq, cur, n, q_.data(), mm_);
  }
  kv_a_.resize(n * W);
  kernels::MatMul(pool, w.wkv_a, cur, n, kv_a_.data(), mm_);
  // Normalize the latent, rotate the shared key part and each head's query part, and store
  // [latent | k_pe] (k_pe in F16, as llama.cpp's F16 cache held it).
  pool.ParallelFor(n, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const float* c = batch.rope_cos + t * (rot / 2);
      const float* s = batch.rope_sin + t * (rot / 2);
      float* kv = kv_a_.data() + t * W;
      kernels::RmsNorm(kv, w.kv_a_norm, rank, hp.eps, kv);
      kernels::ApplyRope(kv + rank, rot, kernels::RopeStyle::kAdjacentPairs, c, s);
      for (int64_t h = 0; h < H; ++h) {
        kernels::ApplyRope(q_.data() + t * H * dk + h * dk + nope, rot,
                           kernels::RopeStyle::kAdjacentPairs, c, s);
      }
      const BatchEntry& en = batch.entries[batch.owner[t]];
      uint8_t* row = CacheRow(*en.state, row_bytes, layer, batch.pos[t]);
      ConvertRow(w.latent_type, kv, row, rank);
      auto* pe = reinterpret_cast<uint16_t*>(row + 2 * rank);
      for (int64_t i = 0; i < rot; ++i) pe[i] = Fp32ToFp16(kv[rank + i]);
    }
  });

  attn_.resize(n * H * dv);
  std::vector<int64_t> decode_rows;
  for (int64_t i = 0; i < batch.n_entries; ++i) {
    const BatchEntry& en = batch.entries[i];
    const int64_t decompress_macs = (en.pos0 + en.n) * H * (nope + dv) * rank;
    if (en.n == 1 && decompress_macs > decompress_budget_) {
      decode_rows.push_back(batch.first_row[i]);
    } else {
      Prefill(pool, hp, w, layer, batch.entries[i], batch.first_row[i]);
    }
  }
  if (!decode_rows.empty()) DecodeRows(pool, hp, w, layer, batch, decode_rows);
  kernels::MatMul(pool, w.wo, attn_.data(), n, out, mm_);
}

void MlaAttention::Prefill(ThreadPool& pool, const Deepseek2HParams& hp, const MlaWeights& w,
                           int64_t layer, const BatchEntry& e, int64_t row0) {
  const int64_t H = hp.n_head, dk = hp.head_k, dv = hp.head_v, nope = hp.nope();
  const int64_t rank = hp.kv_lora_rank, row_bytes = MlaCacheRowBytes(hp);
  const int64_t P = e.pos0 + e.n;  // positions visible to the entry's last token
  // The product's input rows: the cached latents as they are when they are already in
  // attn_kv_b's vec-dot type (the usual case), else converted.
  const tensor::DType act_type = kernels::GetKernels(w.wkv_b.type)->vec_dot_type;
  int64_t act_bytes = tensor::RowBytes(act_type, rank);
  if (act_type == w.latent_type) {
    act_.resize(P * act_bytes);
    pool.ParallelFor(P, [&](int64_t b, int64_t end) {
      for (int64_t j = b; j < end; ++j) {
        const uint8_t* row = CacheRow(*e.state, row_bytes, layer, j);
        std::copy(row, row + act_bytes, act_.data() + j * act_bytes);
      }
    });
  } else {
    latent_.resize(P * rank);
    const kernels::TypeKernels* lk = kernels::GetKernels(w.latent_type);
    pool.ParallelFor(P, [&](int64_t b, int64_t end) {
      for (int64_t j = b; j < end; ++j) {
        lk->dequantize_row(CacheRow(*e.state, row_bytes, layer, j), latent_.data() + j * rank,
                           rank);
      }
    });
    act_bytes = ConvertRows(pool, w.wkv_b.type, latent_.data(), P, rank, act_);
  }
  const int64_t kv_w = nope + dv;
  kvd_.resize(P * H * kv_w);
  PreparedMatMul(pool, w.wkv_b, act_.data(), act_bytes, nullptr, P, kvd_.data(), false);
  // Per-head F16 K = [k_nope | k_pe] and V, as llama.cpp's cache held them; V transposed (one
  // row per head and output over the positions, zero-padded to llama.cpp's 32-cell padding),
  // as llama.cpp's non-flash cache stores it and its value product reads it.
  const int64_t vt_len = (P + kernels::f16_order::kKvPad - 1) / kernels::f16_order::kKvPad *
                         kernels::f16_order::kKvPad;
  // The whole decompressed row rounded to F16 at once (the F16 kernel's rounding is the
  // reference's, bit for bit), then K assembled and V transposed as 16-bit copies.
  const kernels::TypeKernels* f16 = kernels::GetKernels(tensor::DType::kF16);
  kvd16_.resize(P * H * kv_w);
  k16_.resize(P * H * dk);
  vt16_.resize(H * dv * vt_len);
  pool.ParallelFor(P, [&](int64_t b, int64_t end) {
    for (int64_t j = b; j < end; ++j) {
      f16->quantize_row(kvd_.data() + j * H * kv_w, kvd16_.data() + j * H * kv_w, H * kv_w);
      const auto* k_pe =
          reinterpret_cast<const uint16_t*>(CacheRow(*e.state, row_bytes, layer, j) + 2 * rank);
      for (int64_t h = 0; h < H; ++h) {
        const uint16_t* src = kvd16_.data() + (j * H + h) * kv_w;
        uint16_t* k = k16_.data() + (j * H + h) * dk;
        std::copy(src, src + nope, k);
        std::copy(k_pe, k_pe + hp.n_rot, k + nope);
      }
    }
  });
  pool.ParallelFor(H * dv, [&](int64_t b, int64_t end) {
    for (int64_t r = b; r < end; ++r) {
      const int64_t h = r / dv, d = r % dv;
      uint16_t* vt = vt16_.data() + r * vt_len;
      const uint16_t* src = kvd16_.data() + h * kv_w + nope + d;
      for (int64_t j = 0; j < P; ++j) vt[j] = src[j * H * kv_w];
      std::fill(vt + P, vt + vt_len, uint16_t{0});
    }
  });
  const kernels::MlaShape shape{H, dk, dv, hp.kq_scale};
  const kernels::DecompressedKv kv{k16_.data(), H * dk, vt16_.data(), vt_len};
  kernels::CausalAttentionKv(pool, shape, kv, q_.data() + row0 * H * dk, e.n, e.pos0,
                             attn_.data() + row0 * H * dv);
}

void MlaAttention::DecodeRows(ThreadPool& pool, const Deepseek2HParams& hp, const MlaWeights& w,
                              int64_t layer, const MlaBatch& batch,
                              const std::vector<int64_t>& rows) {
  const int64_t H = hp.n_head, dk = hp.head_k, dv = hp.head_v, nope = hp.nope();
  const int64_t rank = hp.kv_lora_rank, rot = hp.n_rot, W = rank + rot;
  const int64_t m = static_cast<int64_t>(rows.size());
  const int64_t kv_w = nope + dv;
  const int64_t wrow_bytes = w.wkv_b.row_bytes();
  const auto* wkv_b = static_cast<const uint8_t*>(w.wkv_b.data);
  const kernels::TypeKernels* wk = kernels::GetKernels(w.wkv_b.type);

  // A head's rows of attn_kv_b (W_kb_h or W_vb_h) dequantized into this thread's buffer, once
  // for all decode rows.
  auto head_rows = [&](int64_t first_row, int64_t count) {
    thread_local std::vector<float> buf;  // per thread: each worker fills its own
    buf.resize(count * rank);
    for (int64_t r = 0; r < count; ++r) {
      // The rows stream from memory once per token: ask for the one 8 ahead (past the head's
      // last row too: the next head's, or harmlessly beyond).
      const uint8_t* ahead = wkv_b + (first_row + r + 8) * wrow_bytes;
      for (int64_t at = 0; at < wrow_bytes; at += 64) __builtin_prefetch(ahead + at);
      wk->dequantize_row(wkv_b + (first_row + r) * wrow_bytes, buf.data() + r * rank, rank);
    }
    return buf.data();
  };

  // q_abs[i][h] = [q_nope_h . W_kb_h | q_pe_h], in F32 with the exact weights.
  q_abs_.assign(m * H * W, 0.0f);
  pool.ParallelFor(H, [&](int64_t hb, int64_t he) {
    for (int64_t h = hb; h < he; ++h) {
      const float* w_kb = head_rows(h * kv_w, nope);
      for (int64_t i = 0; i < m; ++i) {
        kernels::AxpyRows(q_.data() + rows[i] * H * dk + h * dk, w_kb, rank, nope,
                          q_abs_.data() + (i * H + h) * W, rank);
      }
      for (int64_t i = 0; i < m; ++i) {
        const float* q_pe = q_.data() + rows[i] * H * dk + h * dk + nope;
        std::copy(q_pe, q_pe + rot, q_abs_.data() + (i * H + h) * W + rank);
      }
    }
  });

  o_lat_.resize(m * H * rank);
  const int64_t row_bytes = MlaCacheRowBytes(hp);
  for (int64_t i = 0; i < m; ++i) {
    const BatchEntry& en = batch.entries[batch.owner[rows[i]]];
    const SequenceState& s = *en.state;
    const int64_t B = s.pool().block_tokens();
    const int64_t n_blocks = (en.pos0 + 1 + B - 1) / B;
    blocks_.resize(n_blocks);
    for (int64_t b = 0; b < n_blocks; ++b) blocks_[b] = CacheRow(s, row_bytes, layer, b * B);
    const kernels::LatentKvView view{blocks_.data(), B, row_bytes, 2 * rank,
                                     kernels::GetKernels(w.latent_type)->dequantize_row};
    kernels::LatentAttention(pool, H, rank, rot, hp.kq_scale, view, q_abs_.data() + i * H * W, 1,
                             en.pos0, o_lat_.data() + i * H * rank, scratch_);
  }

  // out_h = W_vb_h . o_lat_h, in F32 with the exact weights (W_vb_h: the head's dv rows of
  // attn_kv_b after its nope rows).
  pool.ParallelFor(H, [&](int64_t hb, int64_t he) {
    std::vector<double> dots(dv);
    for (int64_t h = hb; h < he; ++h) {
      const float* w_vb = head_rows(h * kv_w + nope, dv);
      for (int64_t i = 0; i < m; ++i) {
        kernels::DotRowsInDouble(w_vb, rank, dv, o_lat_.data() + (i * H + h) * rank, rank,
                                 dots.data());
        float* o = attn_.data() + rows[i] * H * dv + h * dv;
        for (int64_t d = 0; d < dv; ++d) o[d] = static_cast<float>(dots[d]);
      }
    }
  });
}

}  // namespace r1d::models
