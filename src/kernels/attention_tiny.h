#pragma once
// Attention's two F16 products for a batch of query tokens (prefill), in the tinyBLAS order of
// llama.cpp's CPU graph (see parity::TinyBlasDotF16), computed many at a time: a block of
// vectors against a tile of rows in registers. Every result has the same bits as the
// one-product-at-a-time kernel (tests compare them); only the loads and conversions are shared.
#include <cstdint>

namespace r1d::kernels::tiny_attention {

// Vectors one Dots call takes at once.
inline constexpr int kMaxQueries = 4;

// out[a][r] = TinyBlasDotF16(rows[r], vecs[a], len) * scale for a < nv (<= kMaxQueries) and
// r < n_rows, len % 16 == 0. With `valid`, vector a's elements from valid[a] on take no part:
// their lanes are left as they are, exactly as if the product stopped there (the reference
// skips the masked cells; multiplying them by zero would differ for a non-finite row value).
// Scores are Dots of the key rows with the queries; with V transposed (one row per output,
// cells along it), the value product is Dots of those rows with the softmax weights.
void Dots(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs,
          const int64_t* valid, int nv, int64_t len, float scale, float* const* out);

}  // namespace r1d::kernels::tiny_attention
