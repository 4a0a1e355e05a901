#include "kernels/attention_vec_dot.h"

#include <vector>

#include "kernels/attention_f16_order.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ops.h"

namespace r1d::kernels::vec_dot_attention {
namespace {

bool UseAvx512() {
  static const bool yes = BestIsa() >= Isa::kAvx512;
  return yes;
}

// The calling thread's buffer of at least n floats for the AVX-512 kernels (kept between calls).
float* Scratch(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n));
  return buffer.data();
}

}  // namespace

void Dots(const parity::FloatKernels& fk, const uint16_t* const* rows, int64_t n_rows,
          const uint16_t* const* vecs, int nv, int64_t len, float scale, float* const* out) {
  if (UseAvx512()) {
    return avx512::VecDotRowsF16(rows, n_rows, vecs, nv, len, scale, out,
                                 Scratch(nv * ((len + 15) / 16 * 16)));
  }
  for (int a = 0; a < nv; ++a) {
    for (int64_t r = 0; r < n_rows; ++r) out[a][r] = fk.vec_dot_f16(rows[r], vecs[a], len) * scale;
  }
}

void WeightedSums(const parity::FloatKernels& fk, const uint16_t* const* p16, int nv, int64_t n_kv,
                  int64_t n_kv_pad, const uint16_t* const* v_rows, int64_t dv, float* acc,
                  float* fold, float* const* out) {
  // The AVX-512 kernel takes whole 16-output chunks.
  if (UseAvx512() && dv % 16 == 0) {
    return avx512::WeightedSumsF16VecDot(p16, nv, n_kv, n_kv_pad, v_rows, dv, acc, out,
                                         Scratch(nv * n_kv));
  }
  for (int a = 0; a < nv; ++a) {
    f16_order::WeightedSumF16(
        fk, false, p16[a], n_kv, n_kv_pad, [&](int64_t j) { return v_rows[j]; }, dv, acc, fold,
        out[a]);
  }
}

}  // namespace r1d::kernels::vec_dot_attention
