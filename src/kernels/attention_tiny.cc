#include "kernels/attention_tiny.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/fp16.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels::tiny_attention {
namespace {

// Without AVX-512: the one-product-at-a-time kernels (the same bits, by definition).
void DotsOneByOne(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs,
                  const int64_t* valid, int nv, int64_t len, float scale, float* const* out) {
  const parity::FloatKernels& fk = parity::FastFloatKernels();
  for (int a = 0; a < nv; ++a) {
    const int64_t n = valid == nullptr ? len : std::min(len, valid[a]);
    if (n == len) {
      for (int64_t r = 0; r < n_rows; ++r)
        out[a][r] = fk.tiny_blas_dot_f16(rows[r], vecs[a], len) * scale;
      continue;
    }
    // A cut-short product: lane chains stop at element n.
    for (int64_t r = 0; r < n_rows; ++r) {
      float lane[16] = {};
      for (int64_t i = 0; i < n; ++i) {
        lane[i % 16] = std::fma(Fp16ToFp32(rows[r][i]), Fp16ToFp32(vecs[a][i]), lane[i % 16]);
      }
      out[a][r] = parity::Hsum16(lane) * scale;
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

void Dots(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs,
          const int64_t* valid, int nv, int64_t len, float scale, float* const* out) {
  if (UseAvx512()) {
    avx512::TinyAttentionDots(rows, n_rows, vecs, valid, nv, len, scale, out);
  } else {
    DotsOneByOne(rows, n_rows, vecs, valid, nv, len, scale, out);
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
