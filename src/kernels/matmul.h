#pragma once
// Matrix product of a weight (any supported dtype, used in place) with F32 activations.
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/parity/quant_gemm.h"
#include "tensor/dtype.h"

namespace r1d::kernels {

// A 2-D weight as stored in GGUF: n_out rows of n_in contiguous elements of `type`; and, when
// it was packed at load (weight_packing.h), the packed copy the matrix products use instead
// (every output the same bits, unless row_order asks for the packed product in row order).
struct WeightView {
  const void* data = nullptr;
  tensor::DType type = tensor::DType::kF32;
  int64_t n_in = 0;
  int64_t n_out = 0;
  const void* packed = nullptr;  // strip::PackStrips layout, or null
  int64_t packed_row_bytes = 0;  // strip::PackedRowBytes
  bool row_order = false;        // packed product in row order (strip/packed_row_order.h)
  int64_t row_bytes() const { return tensor::RowBytes(type, n_in); }
};

// A product whose activations were prepared in advance (PrepareActivations), for
// RunPreparedProducts.
struct PreparedProduct {
  WeightView w;
  const uint8_t* prepared = nullptr;  // from PrepareActivations for w's type
  int64_t n_tokens = 0;
  float* y = nullptr;  // [n_tokens][w.n_out]
  // The product to run (MatMulShared's choice); null: the one PrepareActivations took.
  const parity::QuantGemm* gemm = nullptr;
};

// Reusable buffers of the products (nothing is allocated per call once they have grown).
struct MatMulScratch {
  std::vector<uint8_t> act;          // activations converted to the weight's vec-dot type
  std::vector<uint8_t> prepared;     // the blocked products' layout (64-byte aligned inside)
  std::vector<MatMulScratch> parts;  // MatMulShared: one per product
  std::vector<PreparedProduct> products;
  std::vector<const void*> kinds;  // MatMulShared: the blocked product each one uses
};

// y[t * n_out + r] = dot(W row r, x[t * n_in ...]) for t in [0, n_tokens).
// The activations are converted once to the weight's vec-dot type (as llama.cpp does).
void MatMul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            MatMulScratch& scratch);

// Several products of the same input rows (q/k/v, gate/up): y[i] = MatMul(*w[i], x). The input
// is converted once per activation type and prepared once per product kind, and all products
// run in one parallel region (one wake-up and one uneven end instead of `count`). Same results
// as separate MatMul calls.
void MatMulShared(ThreadPool& pool, const WeightView* const* w, float* const* y, int count,
                  const float* x, int64_t n_tokens, MatMulScratch& scratch);

// The same product for activation rows already converted to the weight's vec-dot type, row t of
// the input at act + (rows ? rows[t] : t) * act_row_bytes (a gather, for mixture-of-experts).
// Done with the blocked quantized product where the weight type has one (same bits as the row
// dots); returns false, computing nothing, where it has none.
bool MatMulConverted(ThreadPool& pool, const WeightView& w, const uint8_t* act,
                     int64_t act_row_bytes, const int32_t* rows, int64_t n_tokens, float* y,
                     MatMulScratch& scratch);

// Whether PrepareActivations / RunPreparedProducts handle weights of this type on this CPU.
bool HasBlockedProduct(tensor::DType type);

// Rearranges n_tokens converted activation rows (row t at act + (rows ? rows[t] : t) *
// act_row_bytes) for w's blocked product into `scratch`; nullptr (nothing done) when w's type
// has no blocked product.
const uint8_t* PrepareActivations(const WeightView& w, const uint8_t* act, int64_t act_row_bytes,
                                  const int32_t* rows, int64_t n_tokens, MatMulScratch& scratch);
// Several products whose activations were prepared in advance, run in one parallel region
// (mixture-of-experts layers: a handful of small expert matrices per token, each otherwise a
// thread wake-up and a tail of idle threads).
void RunPreparedProducts(ThreadPool& pool, const PreparedProduct* products, int64_t count);

}  // namespace r1d::kernels
