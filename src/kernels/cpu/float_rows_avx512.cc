// AVX-512 versions of the F32 row loops of elementwise.h that run per token on weights used as
// floats (the absorbed MLA decode).
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own intrinsics as uninitialized (a false
// positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Products and sums rounded separately, as in the reference loops: GCC would otherwise fuse
// the intrinsics' multiply and add (they are plain vector arithmetic to it).
#pragma GCC optimize("fp-contract=off")

#include "kernels/cpu/cpu_kernels.h"

namespace r1d::kernels::avx512 {

void ScaleF32(float a, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(va, _mm512_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = a * x[i];
}

void AxpyF32(float a, const float* x, float* y, int64_t n) {
  // Product, then sum, each rounded: the same bits as the portable loop (no fused multiply-add).
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(
        y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(va, _mm512_loadu_ps(x + i))));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

void AxpyRowsF32(const float* a, const float* rows, int64_t stride, int64_t n_rows, float* y,
                 int64_t n) {
  // Each element of y takes the rows' products one after another, exactly as n_rows AxpyF32
  // calls; 8 registers of y stay live across the rows (enough independent sums to hide the
  // add latency) instead of a store and a load per row.
  constexpr int kRegs = 8;
  int64_t i = 0;
  for (; i + 16 * kRegs <= n; i += 16 * kRegs) {
    __m512 acc[kRegs];
    for (int k = 0; k < kRegs; ++k) acc[k] = _mm512_loadu_ps(y + i + 16 * k);
    for (int64_t r = 0; r < n_rows; ++r) {
      const __m512 va = _mm512_set1_ps(a[r]);
      const float* x = rows + r * stride + i;
      for (int k = 0; k < kRegs; ++k) {
        acc[k] = _mm512_add_ps(acc[k], _mm512_mul_ps(va, _mm512_loadu_ps(x + 16 * k)));
      }
    }
    for (int k = 0; k < kRegs; ++k) _mm512_storeu_ps(y + i + 16 * k, acc[k]);
  }
  if (i < n) {
    for (int64_t r = 0; r < n_rows; ++r) AxpyF32(a[r], rows + r * stride + i, y + i, n - i);
  }
}

void DotRowsF32InDouble(const float* rows, int64_t stride, int64_t n_rows, const float* x,
                        int64_t n, double* out) {
  // Four rows at a time, each with DotF32InDouble's lanes, reduction and tail: four
  // independent add chains instead of one.
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const float* w[4] = {rows + r * stride, rows + (r + 1) * stride, rows + (r + 2) * stride,
                         rows + (r + 3) * stride};
    __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(),
                      _mm512_setzero_pd()};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 xv = _mm256_loadu_ps(x + i);
      for (int k = 0; k < 4; ++k) {
        const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(w[k] + i), xv);
        acc[k] = _mm512_add_pd(acc[k], _mm512_cvtps_pd(p));
      }
    }
    for (int k = 0; k < 4; ++k) {
      double s = _mm512_reduce_add_pd(acc[k]);
      for (int64_t j = i; j < n; ++j) s += static_cast<double>(w[k][j] * x[j]);
      out[r + k] = s;
    }
  }
  for (; r < n_rows; ++r) out[r] = DotF32InDouble(rows + r * stride, x, n);
}

double DotF32InDouble(const float* x, const float* y, int64_t n) {
  // Each product rounded to float as in the portable loop, summed in 8 double lanes.
  __m512d acc = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    acc = _mm512_add_pd(acc, _mm512_cvtps_pd(p));
  }
  double s = _mm512_reduce_add_pd(acc);
  for (; i < n; ++i) s += static_cast<double>(x[i] * y[i]);
  return s;
}

float DotF32Lanes8(const float* x, const float* y, int64_t n) {
  // The 8 lanes of the portable loop in one register: product, then sum, each rounded.
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  // t[l] = acc[l] + acc[l + 4]; then (t0 + t1) + (t2 + t3).
  const __m128 t = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 h = _mm_hadd_ps(t, t);
  float s = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

}  // namespace r1d::kernels::avx512
