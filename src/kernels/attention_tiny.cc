#include "kernels/attention_tiny.h"

#include <algorithm>
#include <cmath>

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

}  // namespace r1d::kernels::tiny_attention
