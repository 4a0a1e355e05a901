#pragma once
// Packs a model's weight matrices once, at load time, into the strip layout of
// kernels/strip/packed_gemm.h, so every matrix product (any batch size) runs on the packed
// copy without per-call packing. Outputs keep their bits: the packed products are
// bit-identical to the products on the file layout.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/anon_buffer.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"

namespace r1d::kernels {

// A matrix to pack: `rows` rows from w.data (w.n_out, or more for a stack of expert matrices
// laid out one after another; views derived from it offset `packed` as they offset `data`).
struct PackRequest {
  WeightView* w = nullptr;
  int64_t rows = 0;              // 0: w->n_out
  bool keep_file_pages = false;  // the file layout is still read elsewhere (Model::PackWeights)
};

struct PackStats {
  int64_t matrices = 0;     // views given a packed copy
  int64_t bytes = 0;        // of the packed copies
  int64_t skipped = 0;      // matrices of a type (or shape) without a packed product
  int64_t over_budget = 0;  // matrices left unpacked because max_bytes was reached
};

// Packs every requested matrix that has a packed product on this CPU into one anonymous
// buffer (returned: it must outlive the views) and sets the views' `packed` and
// `packed_row_bytes`. Requests for the same data are packed once. Matrices that cannot be
// packed, and those that would take the packed copies past max_bytes (in request order), are
// left as they are. Runs on `pool`.
Result<std::unique_ptr<AnonBuffer>> PackWeights(ThreadPool& pool,
                                                const std::vector<PackRequest>& requests,
                                                PackStats* stats = nullptr,
                                                int64_t max_bytes = INT64_MAX);

}  // namespace r1d::kernels
