#pragma once
// One block of query rows attending over the same F16 key and value rows (one key/value head of
// one sequence), in llama.cpp's non-flash CPU order, shared by the multi-head (attention.cc)
// and latent (mla_attention.cc) attentions. Query rows that share key rows share the work of
// the score products (tiny_attention::Scores); every result keeps the reference's bits.
#include <cstdint>
#include <vector>

namespace r1d::kernels {

// One query row: q (dk floats) sees the cells [0, n_kv) and writes dv floats to out.
struct QueryRow {
  const float* q = nullptr;
  int64_t n_kv = 0;
  float* out = nullptr;
};

struct BlockShape {
  int64_t dk = 0;        // query/key size
  int64_t dv = 0;        // value size
  int64_t n_kv_pad = 0;  // visible cells rounded up to f16_order::kKvPad (decides vec_dot's tail)
  float scale = 1.0f;
  bool tiny_kq = false;   // score product in tinyBLAS order (batches of 2+ tokens), else vec_dot
  bool tiny_kqv = false;  // value product likewise
  // > 0: the values come transposed, BlockScratch::vt_rows[d] holding output d's value for
  // every cell, vt_len (>= n_kv_pad) of them, zero past the last cell. Else v_rows.
  int64_t vt_len = 0;
};

// Buffers one thread reuses between blocks; the caller fills k_rows (cell j's key for the
// block's head) for every cell any row of the block sees, and v_rows likewise (cell j's value)
// or vt_rows (see BlockShape::vt_len).
struct BlockScratch {
  std::vector<const uint16_t*> k_rows, v_rows, vt_rows;
  std::vector<float> scores, acc, fold;
  std::vector<uint16_t> q16, p16;
};

// The calling thread's scratch (kept between calls, so steady state allocates nothing).
BlockScratch& ThreadBlockScratch();

// Attention for rows[0, nq): nq <= tiny_attention::kMaxQueries in the tinyBLAS order (tiny_kq
// or tiny_kqv), else nq <= vec_dot_attention::kMaxVectors.
void AttendBlock(const BlockShape& shape, const QueryRow* rows, int nq, BlockScratch& s);

}  // namespace r1d::kernels
