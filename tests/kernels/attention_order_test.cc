// The value product of attention (f16_order::WeightedSumF16) is, for every output, llama.cpp's
// F16 dot product of the softmax weights with that column of V over the padded cells: the
// vec_dot order (4 x 16 lanes per 64-cell step, the lanes folded as (s0 + s2) + (s1 + s3) and
// summed pairwise, the cells past the last whole step added in double) for single tokens, the
// tinyBLAS order for batches. Checked bit for bit against the portable dot products over
// padded arrays, for contexts below, at and past 64 cells.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/attention_f16_order.h"
#include "kernels/attention_tiny.h"
#include "kernels/attention_vec_dot.h"
#include "kernels/mla_attention.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {
namespace {

TEST(AttentionOrder, WeightedSumIsTheF16DotOfEachColumn) {
  const int64_t dv = 48;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (const parity::FloatKernels* fk :
       {&parity::PortableFloatKernels(), &parity::FastFloatKernels()}) {
    for (bool tiny : {false, true}) {
      for (int64_t n_kv : {5, 63, 64, 65, 70, 100, 128, 131, 200}) {
        const int64_t n_kv_pad =
            (n_kv + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
        // Softmax-like weights and V rows, zero past n_kv (the masked, padded cells).
        std::vector<uint16_t> p16(n_kv_pad, 0), v(n_kv_pad * dv, 0);
        for (int64_t j = 0; j < n_kv; ++j) {
          p16[j] = Fp32ToFp16(std::fabs(normal(rng)) / static_cast<float>(n_kv));
          for (int64_t d = 0; d < dv; ++d) v[j * dv + d] = Fp32ToFp16(normal(rng));
        }
        std::vector<float> acc(64 * dv), fold(dv), out(dv);
        f16_order::WeightedSumF16(
            *fk, tiny, p16.data(), n_kv, n_kv_pad, [&](int64_t j) { return v.data() + j * dv; }, dv,
            acc.data(), fold.data(), out.data());
        std::vector<uint16_t> column(n_kv_pad);
        for (int64_t d = 0; d < dv; ++d) {
          for (int64_t j = 0; j < n_kv_pad; ++j) column[j] = v[j * dv + d];
          const float want = tiny ? parity::TinyBlasDotF16(column.data(), p16.data(), n_kv_pad)
                                  : parity::VecDotF16(column.data(), p16.data(), n_kv_pad);
          ASSERT_EQ(FloatToBits(want), FloatToBits(out[d]))
              << (tiny ? "tinyBLAS" : "vec_dot") << " order, " << n_kv << " cells, column " << d
              << ": " << want << " vs " << out[d];
        }
      }
    }
  }
}

std::vector<uint16_t> RandomF16(int64_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal;
  std::vector<uint16_t> v(n);
  for (uint16_t& x : v) x = Fp32ToFp16(scale * normal(rng));
  return v;
}

// tinyBLAS's dot product cut short: lane i % 16 takes the products of elements i < n.
float LaneDot(const uint16_t* x, const uint16_t* y, int64_t n) {
  float lane[16] = {};
  for (int64_t i = 0; i < n; ++i) {
    lane[i % 16] = std::fma(Fp16ToFp32(x[i]), Fp16ToFp32(y[i]), lane[i % 16]);
  }
  return parity::Hsum16(lane);
}

// The blocked products (up to 4 vectors against tiles of 4 rows in registers) give each result
// the bits of its own tinyBLAS dot product, for every vector count and row-tile remainder;
// with valid lengths, each product stops at its vector's length even where the other vectors
// go on, and a non-finite value past it changes nothing.
TEST(TinyAttention, DotsAreTheOneByOneDotProducts) {
  std::mt19937 rng(11);
  for (int64_t len : {16, 64, 128, 192}) {
    for (int64_t n_rows : {1, 2, 3, 4, 5, 7, 33}) {
      std::vector<uint16_t> x = RandomF16(n_rows * len, rng);
      const std::vector<uint16_t> y = RandomF16(tiny_attention::kMaxQueries * len, rng);
      std::vector<const uint16_t*> rows(n_rows);
      // Rows in reverse order: the kernel must follow the pointers, not assume a stride.
      for (int64_t r = 0; r < n_rows; ++r) rows[r] = x.data() + (n_rows - 1 - r) * len;
      for (bool cut : {false, true}) {
        int64_t valid[tiny_attention::kMaxQueries];
        for (int a = 0; a < tiny_attention::kMaxQueries; ++a) {
          valid[a] = std::uniform_int_distribution<int64_t>(0, len + 5)(rng);
        }
        if (cut) x[len - 1] = 0x7C00;  // +Inf in the last element of the last row
        for (int nv = 1; nv <= tiny_attention::kMaxQueries; ++nv) {
          std::vector<float> results(nv * n_rows);
          const uint16_t* vecs[tiny_attention::kMaxQueries];
          float* out[tiny_attention::kMaxQueries];
          for (int a = 0; a < nv; ++a) {
            vecs[a] = y.data() + a * len;
            out[a] = results.data() + a * n_rows;
          }
          tiny_attention::Dots(rows.data(), n_rows, vecs, cut ? valid : nullptr, nv, len, 0.3f,
                               out);
          for (int a = 0; a < nv; ++a) {
            for (int64_t r = 0; r < n_rows; ++r) {
              const float want =
                  cut ? LaneDot(rows[r], vecs[a], std::min(len, valid[a])) * 0.3f
                      : parity::PortableFloatKernels().tiny_blas_dot_f16(rows[r], vecs[a], len) *
                            0.3f;
              ASSERT_EQ(FloatToBits(want), FloatToBits(out[a][r]))
                  << "len " << len << ", " << n_rows << " rows, " << nv << " vectors, vector " << a
                  << (cut ? " cut at " + std::to_string(valid[a]) : std::string()) << ", row " << r;
            }
          }
        }
      }
    }
  }
}

// The single-token products (up to 8 vectors against many rows, 16 horizontal sums at once)
// give each result the bits of its own vec_dot, for lengths with and without a tail past the
// last 64-element step, every vector count and row counts around the 16-row groups; a
// non-finite element goes through the same operations as in the reference.
TEST(VecDotAttention, DotsAreTheOneByOneDotProducts) {
  std::mt19937 rng(21);
  const parity::FloatKernels& portable = parity::PortableFloatKernels();
  for (int64_t len : {32, 64, 96, 128, 160, 576}) {  // 576: DeepSeek's MLA key size
    for (int64_t n_rows : {1, 3, 15, 16, 17, 40}) {
      std::vector<uint16_t> x = RandomF16(n_rows * len, rng);
      const std::vector<uint16_t> y = RandomF16(vec_dot_attention::kMaxVectors * len, rng);
      if (n_rows == 17) x[5 * len + 3] = 0x7C00;  // +Inf in row 5
      std::vector<const uint16_t*> rows(n_rows);
      for (int64_t r = 0; r < n_rows; ++r) rows[r] = x.data() + (n_rows - 1 - r) * len;
      for (int nv = 1; nv <= vec_dot_attention::kMaxVectors; ++nv) {
        std::vector<float> results(nv * n_rows);
        const uint16_t* vecs[vec_dot_attention::kMaxVectors];
        float* out[vec_dot_attention::kMaxVectors];
        for (int a = 0; a < nv; ++a) {
          vecs[a] = y.data() + a * len;
          out[a] = results.data() + a * n_rows;
        }
        vec_dot_attention::Dots(parity::FastFloatKernels(), rows.data(), n_rows, vecs, nv, len,
                                0.7f, out);
        for (int a = 0; a < nv; ++a) {
          for (int64_t r = 0; r < n_rows; ++r) {
            const float want = portable.vec_dot_f16(rows[r], vecs[a], len) * 0.7f;
            ASSERT_EQ(FloatToBits(want), FloatToBits(out[a][r]))
                << "len " << len << ", " << n_rows << " rows, " << nv << " vectors, vector " << a
                << ", row " << r << ": " << want << " vs " << out[a][r];
          }
        }
      }
    }
  }
}

// The single-token value products of up to 8 weight vectors over the same cells have the bits
// of WeightedSumF16's vec_dot order for each, for contexts below, at and past each 64-cell
// step and with tails of up to 63 cells, for output sizes the AVX-512 kernel takes (multiples
// of 16, in passes of up to 4 chunks) and one it leaves to the portable order.
TEST(VecDotAttention, WeightedSumsAreTheReferenceOrder) {
  std::mt19937 rng(22);
  std::normal_distribution<float> normal;
  for (int64_t dv : {16, 128, 80, 40}) {
    for (int64_t n_kv : {1, 5, 32, 33, 63, 64, 65, 95, 96, 127, 128, 129, 200, 300}) {
      const int64_t n_kv_pad =
          (n_kv + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
      std::vector<uint16_t> v = RandomF16(n_kv * dv, rng);
      if (n_kv == 129) v[100 * dv + 7] = 0x7C00;  // +Inf in cell 100, output 7
      std::vector<const uint16_t*> v_rows(n_kv);
      for (int64_t j = 0; j < n_kv; ++j) v_rows[j] = v.data() + ((j * 7) % n_kv) * dv;
      for (int nv : {1, 3, 6, 7, 8}) {
        std::vector<std::vector<uint16_t>> weights(nv, std::vector<uint16_t>(n_kv_pad, 0));
        std::vector<std::vector<float>> outs(nv, std::vector<float>(dv));
        const uint16_t* p16[vec_dot_attention::kMaxVectors];
        float* out[vec_dot_attention::kMaxVectors];
        for (int a = 0; a < nv; ++a) {
          for (int64_t j = 0; j < n_kv; ++j) {
            weights[a][j] = Fp32ToFp16(std::fabs(normal(rng)) / static_cast<float>(n_kv));
          }
          p16[a] = weights[a].data();
          out[a] = outs[a].data();
        }
        std::vector<float> acc(64 * dv * nv, 12345.0f), fold(dv), want(dv);
        vec_dot_attention::WeightedSums(parity::FastFloatKernels(), p16, nv, n_kv, n_kv_pad,
                                        v_rows.data(), dv, acc.data(), fold.data(), out);
        for (int a = 0; a < nv; ++a) {
          f16_order::WeightedSumF16(
              parity::PortableFloatKernels(), false, p16[a], n_kv, n_kv_pad,
              [&](int64_t j) { return v_rows[j]; }, dv, acc.data(), fold.data(), want.data());
          for (int64_t d = 0; d < dv; ++d) {
            ASSERT_EQ(FloatToBits(want[d]), FloatToBits(out[a][d]))
                << dv << " outputs, " << n_kv << " cells, " << nv << " vectors, vector " << a
                << ", output " << d << ": " << want[d] << " vs " << out[a][d];
          }
        }
      }
    }
  }
}

// The softmax with the SIMD float kernels (vectorized maximum and chunk sums) has the bits of
// the portable one-by-one loops for lengths around the 16-element chunks and 256-element
// groups, with masked (-inf) cells and zero maxima of both signs.
TEST(VecDotAttention, SoftmaxIsTheReferenceSoftmax) {
  std::mt19937 rng(24);
  std::normal_distribution<float> normal;
  for (int64_t n : {1, 2, 15, 16, 17, 255, 256, 257, 600, 4100}) {
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<float> scores(n);
      for (float& x : scores) x = 3.0f * normal(rng);
      if (variant == 1) {
        for (int64_t j = 0; j < n; j += 3) scores[j] = -INFINITY;
      } else if (variant == 2) {
        for (float& x : scores) x = -std::fabs(x);
        scores[n / 2] = -0.0f;
        scores[n - 1] = 0.0f;
      }
      std::vector<float> want_scores = scores;
      std::vector<uint16_t> want(n), got(n);
      f16_order::SoftmaxToF16(parity::PortableFloatKernels(), want_scores.data(), n, want.data());
      f16_order::SoftmaxToF16(parity::FastFloatKernels(), scores.data(), n, got.data());
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_EQ(want[j], got[j]) << n << " cells, variant " << variant << ", cell " << j;
      }
    }
  }
}

// One query row and head the way llama.cpp computes it, one product at a time with the
// portable kernels: the reference the blocked attentions must reproduce bit for bit.
void ReferenceRow(const float* q, int64_t dk, int64_t dv, int64_t n_kv, int64_t n_kv_pad,
                  float scale, bool tiny, const std::vector<const uint16_t*>& k_rows,
                  const std::vector<const uint16_t*>& v_rows, float* out) {
  const parity::FloatKernels& fk = parity::PortableFloatKernels();
  std::vector<uint16_t> q16(dk);
  for (int64_t d = 0; d < dk; ++d) q16[d] = Fp32ToFp16(q[d]);
  std::vector<float> scores(n_kv_pad);
  for (int64_t j = 0; j < n_kv; ++j) {
    const float kq = tiny ? fk.tiny_blas_dot_f16(k_rows[j], q16.data(), dk)
                          : fk.vec_dot_f16(k_rows[j], q16.data(), dk);
    scores[j] = kq * scale;
  }
  std::vector<uint16_t> p16(n_kv_pad);
  f16_order::SoftmaxToF16(fk, scores.data(), n_kv, p16.data());
  std::vector<float> acc(64 * dv), fold(dv);
  f16_order::WeightedSumF16(
      fk, tiny, p16.data(), n_kv, n_kv_pad, [&](int64_t j) { return v_rows[j]; }, dv, acc.data(),
      fold.data(), out);
}

// Grouped-query attention over a paged cache (blocks of 5 positions: a block of query rows
// crosses cache blocks), for prompts, a chunk after a cached prefix, single tokens and a batch
// mixing them: every output has the bits of the one-row reference.
TEST(TinyAttention, CausalAttentionMatchesTheOneRowReference) {
  ThreadPool pool(2);
  std::mt19937 rng(13);
  const AttentionShape shape{6, 2, 32, 0.17f};
  const int64_t D = shape.head_dim, kv_dim = shape.n_head_kv * D, q_dim = shape.n_head * D;
  const int64_t n_pos = 45, block = 5;
  const std::vector<uint16_t> k = RandomF16(n_pos * kv_dim, rng),
                              v = RandomF16(n_pos * kv_dim, rng);
  std::vector<const uint16_t*> kb, vb;
  for (int64_t b = 0; b * block < n_pos; ++b) {
    kb.push_back(k.data() + b * block * kv_dim);
    vb.push_back(v.data() + b * block * kv_dim);
  }
  const KvView view{kb.data(), vb.data(), block, kv_dim};
  // Batches of sequences (here all over the same cache), each entry n tokens at its end;
  // single-token entries take the vec_dot order, the others tinyBLAS's.
  const std::vector<std::vector<int64_t>> batches = {{1}, {2}, {7}, {45}, {7, 1, 2, 1}};
  for (const std::vector<int64_t>& sizes : batches) {
    std::vector<std::vector<float>> qs, outs;
    std::vector<AttentionEntry> entries;
    std::normal_distribution<float> normal;
    for (int64_t n : sizes) {
      qs.emplace_back(n * q_dim);
      for (float& x : qs.back()) x = normal(rng);
      outs.emplace_back(n * q_dim);
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      entries.push_back(
          AttentionEntry{view, qs[i].data(), sizes[i], n_pos - sizes[i], outs[i].data()});
    }
    CausalAttentionBatch(pool, shape, entries.data(), static_cast<int64_t>(entries.size()));
    for (size_t i = 0; i < sizes.size(); ++i) {
      const int64_t n = sizes[i], pos0 = n_pos - n;
      const int64_t pad =
          (pos0 + n + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t h = 0; h < shape.n_head; ++h) {
          const int64_t hk = h / (shape.n_head / shape.n_head_kv), n_kv = pos0 + t + 1;
          std::vector<const uint16_t*> k_rows(n_kv), v_rows(n_kv);
          for (int64_t j = 0; j < n_kv; ++j) {
            k_rows[j] = k.data() + j * kv_dim + hk * D;
            v_rows[j] = v.data() + j * kv_dim + hk * D;
          }
          std::vector<float> want(D);
          ReferenceRow(qs[i].data() + t * q_dim + h * D, D, D, n_kv, pad, shape.scale, n >= 2,
                       k_rows, v_rows, want.data());
          for (int64_t d = 0; d < D; ++d) {
            ASSERT_EQ(FloatToBits(want[d]), FloatToBits(outs[i][t * q_dim + h * D + d]))
                << "entry " << i << " of " << sizes.size() << ": " << n << " tokens, token " << t
                << ", head " << h << ", output " << d;
          }
        }
      }
    }
  }
}

// Decode with the distilled models' head sizes (64 and 128, so the AVX-512 single-token
// kernels run) and group sizes (6 as the 1.5B, 7 as the 7B, 8 on one kv head, which a single
// sequence splits between the threads), over contexts below and past 64 cells: single-token
// entries at different positions, every output with the bits of the one-row reference.
TEST(VecDotAttention, DecodeMatchesTheOneRowReference) {
  ThreadPool pool(2);
  std::mt19937 rng(23);
  for (const AttentionShape& shape :
       {AttentionShape{12, 2, 128, 0.088f}, AttentionShape{28, 4, 128, 0.088f},
        AttentionShape{8, 1, 64, 0.125f}}) {
    const int64_t D = shape.head_dim, kv_dim = shape.n_head_kv * D, q_dim = shape.n_head * D;
    const int64_t n_pos = 150, block = 16;
    const std::vector<uint16_t> k = RandomF16(n_pos * kv_dim, rng, 0.5f),
                                v = RandomF16(n_pos * kv_dim, rng);
    std::vector<const uint16_t*> kb, vb;
    for (int64_t b = 0; b * block < n_pos; ++b) {
      kb.push_back(k.data() + b * block * kv_dim);
      vb.push_back(v.data() + b * block * kv_dim);
    }
    const KvView view{kb.data(), vb.data(), block, kv_dim};
    for (const std::vector<int64_t>& positions :
         {std::vector<int64_t>{0, 16, 31, 63, 64, 100, 149}, std::vector<int64_t>{130}}) {
      std::vector<std::vector<float>> qs, outs;
      std::vector<AttentionEntry> entries;
      std::normal_distribution<float> normal;
      for (int64_t pos : positions) {
        qs.emplace_back(q_dim);
        for (float& x : qs.back()) x = normal(rng);
        outs.emplace_back(q_dim);
        entries.push_back(AttentionEntry{view, qs.back().data(), 1, pos, outs.back().data()});
      }
      CausalAttentionBatch(pool, shape, entries.data(), static_cast<int64_t>(entries.size()));
      for (size_t i = 0; i < positions.size(); ++i) {
        const int64_t n_kv = positions[i] + 1;
        const int64_t pad = (n_kv + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
        for (int64_t h = 0; h < shape.n_head; ++h) {
          const int64_t hk = h / (shape.n_head / shape.n_head_kv);
          std::vector<const uint16_t*> k_rows(n_kv), v_rows(n_kv);
          for (int64_t j = 0; j < n_kv; ++j) {
            k_rows[j] = k.data() + j * kv_dim + hk * D;
            v_rows[j] = v.data() + j * kv_dim + hk * D;
          }
          std::vector<float> want(D);
          ReferenceRow(qs[i].data() + h * D, D, D, n_kv, pad, shape.scale, false, k_rows, v_rows,
                       want.data());
          for (int64_t d = 0; d < D; ++d) {
            ASSERT_EQ(FloatToBits(want[d]), FloatToBits(outs[i][h * D + d]))
                << shape.n_head << " heads on " << shape.n_head_kv << ", position " << positions[i]
                << ", head " << h << ", output " << d;
          }
        }
      }
    }
  }
}

// The same for the decompressed MLA prefill, whose keys and values differ in size and whose
// values come transposed; an infinite value in the last cell reaches no earlier token.
TEST(TinyAttention, MlaPrefillMatchesTheOneRowReference) {
  ThreadPool pool(2);
  std::mt19937 rng(14);
  const MlaShape shape{3, 48, 32, 0.11f};
  const int64_t n_pos = 38, vt_len = 64;
  const int64_t k_stride = shape.n_head * shape.dk, v_stride = shape.n_head * shape.dv;
  const std::vector<uint16_t> k = RandomF16(n_pos * k_stride, rng);
  std::vector<uint16_t> v = RandomF16(n_pos * v_stride, rng);
  v[(n_pos - 1) * v_stride + 5] = 0x7C00;  // +Inf: head 0, output 5 of the last cell
  std::vector<uint16_t> vt(shape.n_head * shape.dv * vt_len, 0);
  for (int64_t j = 0; j < n_pos; ++j) {
    for (int64_t r = 0; r < v_stride; ++r) vt[r * vt_len + j] = v[j * v_stride + r];
  }
  const DecompressedKv kv{k.data(), k_stride, vt.data(), vt_len};
  for (int64_t n : {1, 2, 5, 38}) {
    const int64_t pos0 = n_pos - n;
    std::vector<float> q(n * k_stride);
    std::normal_distribution<float> normal;
    for (float& x : q) x = normal(rng);
    std::vector<float> out(n * v_stride);
    CausalAttentionKv(pool, shape, kv, q.data(), n, pos0, out.data());
    const int64_t pad = (pos0 + n + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < shape.n_head; ++h) {
        const int64_t n_kv = pos0 + t + 1;
        std::vector<const uint16_t*> k_rows(n_kv), v_rows(n_kv);
        for (int64_t j = 0; j < n_kv; ++j) {
          k_rows[j] = k.data() + j * k_stride + h * shape.dk;
          v_rows[j] = v.data() + j * v_stride + h * shape.dv;
        }
        std::vector<float> want(shape.dv);
        ReferenceRow(q.data() + t * k_stride + h * shape.dk, shape.dk, shape.dv, n_kv, pad,
                     shape.scale, n >= 2, k_rows, v_rows, want.data());
        for (int64_t d = 0; d < shape.dv; ++d) {
          ASSERT_EQ(FloatToBits(want[d]), FloatToBits(out[t * v_stride + h * shape.dv + d]))
              << n << " tokens, token " << t << ", head " << h << ", output " << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
