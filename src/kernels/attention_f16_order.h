#pragma once
// The softmax and value product of llama.cpp's (non-flash) CPU attention over an F16 cache, in
// its exact order, shared by the multi-head (attention.cc) and latent (mla_attention.cc)
// attentions: bit-identical results keep the next product's activation quantization identical.
#include <algorithm>
#include <cstdint>

#include "core/fp16.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "tensor/dtype.h"

namespace r1d::kernels::f16_order {

// llama.cpp pads the visible cache cells to a multiple of 32; the padding decides which
// products its F16 dot product does in SIMD and which in the scalar tail.
inline constexpr int64_t kKvPad = 32;

// dst[i] = f16(src[i]) with the CPU's conversion instruction where it has one (round to nearest
// even, as llama.cpp's GGML_CPU_FP32_TO_FP16 on x86).
inline void ToF16Row(const float* src, uint16_t* dst, int64_t n) {
  static const auto convert = GetKernels(tensor::DType::kF16)->quantize_row;
  convert(src, dst, n);
}

// p = softmax(scores[0..n_kv)) written as F16 into p16, with llama.cpp's exp and summation
// (16-wide chunks, each chunk's sum added in double). Overwrites scores.
inline void SoftmaxToF16(const parity::FloatKernels& fk, float* scores, int64_t n_kv,
                         uint16_t* p16) {
  fk.exp_row(scores, fk.max_row(scores, n_kv), n_kv);
  const float inv = static_cast<float>(1.0 / fk.chunk_sums16(scores, n_kv));
  for (int64_t j = 0; j < n_kv; ++j) scores[j] *= inv;
  ToF16Row(scores, p16, n_kv);
}

// out[d] = sum_j p16[j] * V_j[d] for d < dv, V_j = v_row(j) (F16), in the order of the product
// llama.cpp picks: tinyBLAS (`tiny`: one 16-lane FMA chain over the cells, then the lane tree
// sum) or ggml_vec_dot_f16 over the n_kv_pad padded cells (4 x 16 lanes for whole 64-cell
// steps, the remaining cells one by one in double). acc holds 64 * dv floats, fold dv.
template <class VRow>
void WeightedSumF16(const parity::FloatKernels& fk, bool tiny, const uint16_t* p16, int64_t n_kv,
                    int64_t n_kv_pad, VRow v_row, int64_t dv, float* acc, float* fold, float* out) {
  const int64_t lanes = tiny ? 16 : 64;
  std::fill(acc, acc + lanes * dv, 0.0f);
  float lane[16];
  if (tiny) {
    for (int64_t j = 0; j < n_kv; ++j) {
      fk.fma_f16_row(acc + (j % 16) * dv, v_row(j), Fp16ToFp32(p16[j]), dv);
    }
    for (int64_t d = 0; d < dv; ++d) {
      for (int l = 0; l < 16; ++l) lane[l] = acc[l * dv + d];
      out[d] = parity::Hsum16(lane);
    }
    return;
  }
  const int64_t n_simd = std::min(n_kv, n_kv_pad & ~int64_t{63});
  for (int64_t j = 0; j < n_simd; ++j) {
    fk.fma_f16_row(acc + (j % 64) * dv, v_row(j), Fp16ToFp32(p16[j]), dv);
  }
  for (int64_t d = 0; d < dv; ++d) {
    for (int l = 0; l < 16; ++l) {
      const float s0 = acc[l * dv + d], s1 = acc[(16 + l) * dv + d];
      const float s2 = acc[(32 + l) * dv + d], s3 = acc[(48 + l) * dv + d];
      lane[l] = (s0 + s2) + (s1 + s3);
    }
    fold[d] = parity::Hsum16(lane);
  }
  for (int64_t d = 0; d < dv; ++d) {
    double s = fold[d];
    for (int64_t j = n_simd; j < n_kv; ++j) {
      s += static_cast<double>(Fp16ToFp32(v_row(j)[d]) * Fp16ToFp32(p16[j]));
    }
    out[d] = static_cast<float>(s);
  }
}

}  // namespace r1d::kernels::f16_order
