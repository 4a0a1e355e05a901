#pragma once
// Matrix product of a weight (any supported dtype, used in place) with F32 activations.
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "tensor/dtype.h"

namespace r1d::kernels {

// A 2-D weight as stored in GGUF: n_out rows of n_in contiguous elements of `type`.
struct WeightView {
  const void* data = nullptr;
  tensor::DType type = tensor::DType::kF32;
  int64_t n_in = 0;
  int64_t n_out = 0;
  int64_t row_bytes() const { return tensor::RowBytes(type, n_in); }
};

// Reusable buffer for the activations converted to the weight's vec-dot type.
struct MatMulScratch {
  std::vector<uint8_t> act;
  std::vector<uint8_t> prepared;  // the blocked products' layout (64-byte aligned inside)
};

// y[t * n_out + r] = dot(W row r, x[t * n_in ...]) for t in [0, n_tokens).
// The activations are converted once to the weight's vec-dot type (as llama.cpp does).
void MatMul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            MatMulScratch& scratch);

}  // namespace r1d::kernels
