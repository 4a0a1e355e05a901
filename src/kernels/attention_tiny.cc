#include "kernels/attention_tiny.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels::tiny_attention {
namespace {

// Without AVX-512: the one-product-at-a-time kernels (the same bits, by definition).
void ScoresOneByOne(const uint16_t* const* k_rows, int64_t n_keys, const uint16_t* const* q16,
                    int nq, int64_t dk, float scale, float* const* scores) {
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  for (int a = 0; a < nq; ++a) {
    for (int64_t j = 0; j < n_keys; ++j) {
      scores[a][j] = fk.tiny_blas_dot_f16(k_rows[j], q16[a], dk) * scale;
    }
  }
}

void WeightedSumOneByOne(const uint16_t* const* v_rows, const float* p, int64_t n_kv, int64_t dv,
                         float* out) {
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  thread_local std::vector<float> acc;
  acc.assign(16 * dv, 0.0f);
  for (int64_t j = 0; j < n_kv; ++j)
    fk.fma_f16_row(acc.data() + (j % 16) * dv, v_rows[j], p[j], dv);
  float lane[16];
  for (int64_t d = 0; d < dv; ++d) {
    for (int l = 0; l < 16; ++l) lane[l] = acc[l * dv + d];
    out[d] = parity::Hsum16(lane);
  }
}

bool UseAvx512() {
  static const bool yes = BestIsa() >= Isa::kAvx512;
  return yes;
}

}  // namespace

void Scores(const uint16_t* const* k_rows, int64_t n_keys, const uint16_t* const* q16, int nq,
            int64_t dk, float scale, float* const* scores) {
  if (UseAvx512()) {
    avx512::TinyAttentionScores(k_rows, n_keys, q16, nq, dk, scale, scores);
  } else {
    ScoresOneByOne(k_rows, n_keys, q16, nq, dk, scale, scores);
  }
}

void WeightedSum(const uint16_t* const* v_rows, const float* p, int64_t n_kv, int64_t dv,
                 float* out) {
  if (UseAvx512()) {
    avx512::TinyAttentionWeightedSum(v_rows, p, n_kv, dv, out);
  } else {
    WeightedSumOneByOne(v_rows, p, n_kv, dv, out);
  }
}

}  // namespace r1d::kernels::tiny_attention
