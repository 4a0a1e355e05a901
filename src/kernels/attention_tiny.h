#pragma once
// Attention's two F16 products for a batch of query tokens (prefill), in the tinyBLAS order of
// llama.cpp's CPU graph (see parity::TinyBlasDotF16), computed many at a time: a block of
// queries against a tile of keys in registers for the scores, and the sixteen lane
// accumulators of the value product held in registers across the cells. Every result has the
// same bits as the one-product-at-a-time kernels (tests compare them); only the work is shared.
#include <cstdint>

namespace r1d::kernels::tiny_attention {

// Queries one Scores call takes at once.
inline constexpr int kMaxQueries = 4;

// scores[q][j] = TinyBlasDotF16(k_rows[j], q16[q], dk) * scale for q < nq (<= kMaxQueries) and
// j < n_keys. dk % 16 == 0.
void Scores(const uint16_t* const* k_rows, int64_t n_keys, const uint16_t* const* q16, int nq,
            int64_t dk, float scale, float* const* scores);

// out[d] = sum over j < n_kv of p[j] * v_rows[j][d] in the tinyBLAS order over the cells: cell j
// goes to lane j % 16 (one fused multiply-add chain per lane, cells in order), then the 16 lanes
// are summed as parity::Hsum16. p holds F16 values widened to float (the softmax as llama.cpp
// rounds it).
void WeightedSum(const uint16_t* const* v_rows, const float* p, int64_t n_kv, int64_t dv,
                 float* out);

}  // namespace r1d::kernels::tiny_attention
