#include "kernels/matmul.h"

#include <algorithm>

#include "core/status.h"
#include "kernels/ops.h"

namespace r1d::kernels {
namespace {

// Rows handed to a thread at a time: big enough to amortize scheduling, small enough that the
// weight rows stay in cache while every token of the batch uses them.
constexpr int64_t kRowTile = 16;

}  // namespace

void MatMul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            MatMulScratch& scratch) {
  const TypeKernels* wk = GetKernels(w.type);
  R1D_CHECK_MSG(wk != nullptr, "MatMul on an unsupported weight type");
  const TypeKernels* ak = GetKernels(wk->vec_dot_type);
  R1D_CHECK(ak != nullptr);
  const int64_t act_row_bytes = tensor::RowBytes(wk->vec_dot_type, w.n_in);
  scratch.act.resize(static_cast<size_t>(act_row_bytes * n_tokens));
  uint8_t* act = scratch.act.data();

  pool.ParallelFor(n_tokens, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      ak->quantize_row(x + t * w.n_in, act + t * act_row_bytes, w.n_in);
    }
  });

  const int64_t w_row_bytes = w.row_bytes();
  const auto* wdata = static_cast<const uint8_t*>(w.data);
  const int64_t n_tiles = (w.n_out + kRowTile - 1) / kRowTile;
  pool.ParallelFor(n_tiles, [&](int64_t tile_begin, int64_t tile_end) {
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const int64_t r0 = tile * kRowTile;
      const int64_t r1 = std::min(w.n_out, r0 + kRowTile);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const uint8_t* a = act + t * act_row_bytes;
        float* yt = y + t * w.n_out;
        for (int64_t r = r0; r < r1; ++r) {
          yt[r] = wk->vec_dot(w.n_in, wdata + r * w_row_bytes, a);
        }
      }
    }
  });
}

}  // namespace r1d::kernels
