#include "kernels/elementwise.h"

#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  if (weight != nullptr) {
    for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale;
  }
}

void RopeAngles(int64_t pos, int64_t n_rot, float freq_base, float freq_scale,
                const float* freq_factors, float* cos_out, float* sin_out) {
  // The angle of pair i is pos * base^(-2i/n_rot); built by repeated multiplication in float,
  // the way llama.cpp does it, so rounding matches.
  const float theta_scale = std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
  float theta = static_cast<float>(pos);
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const float factor = freq_factors != nullptr ? freq_factors[i] : 1.0f;
    const float angle = freq_scale * (theta / factor);
    cos_out[i] = std::cos(angle);
    sin_out[i] = std::sin(angle);
    theta *= theta_scale;
  }
}

void ApplyRope(float* x, int64_t n_rot, RopeStyle style, const float* cos_v, const float* sin_v) {
  const int64_t half = n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t a = style == RopeStyle::kAdjacentPairs ? 2 * i : i;
    const int64_t b = style == RopeStyle::kAdjacentPairs ? 2 * i + 1 : i + half;
    const float x0 = x[a];
    const float x1 = x[b];
    x[a] = std::fma(x0, cos_v[i], -(x1 * sin_v[i]));
    x[b] = std::fma(x0, sin_v[i], x1 * cos_v[i]);
  }
}

void Softmax(float* x, int64_t n) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = (x[i] == -INFINITY) ? 0.0f : std::exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out) {
  // llama.cpp's SiLU uses its vectorized exp approximation; matching it bit for bit keeps
  // the quantized input of the down projection identical.
  parity::SiluMulRow(gate, up, n, out);
}

void AddInPlace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

namespace {
bool UseAvx512() {
  static const bool avx512 = BestIsa() >= Isa::kAvx512;
  return avx512;
}
}  // namespace

void Scale(float a, const float* x, float* y, int64_t n) {
  if (UseAvx512()) return avx512::ScaleF32(a, x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = a * x[i];
}

void Axpy(float a, const float* x, float* y, int64_t n) {
  if (UseAvx512()) return avx512::AxpyF32(a, x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

float DotLanes8(const float* x, const float* y, int64_t n) {
  if (UseAvx512()) return avx512::DotF32Lanes8(x, y, n);
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l] * y[i + l];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

void AxpyRows(const float* a, const float* rows, int64_t stride, int64_t n_rows, float* y,
              int64_t n) {
  if (UseAvx512()) return avx512::AxpyRowsF32(a, rows, stride, n_rows, y, n);
  for (int64_t r = 0; r < n_rows; ++r) Axpy(a[r], rows + r * stride, y, n);
}

double DotInDouble(const float* x, const float* y, int64_t n) {
  if (UseAvx512()) return avx512::DotF32InDouble(x, y, n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i] * y[i]);
  return s;
}

void DotRowsInDouble(const float* rows, int64_t stride, int64_t n_rows, const float* x, int64_t n,
                     double* out) {
  if (UseAvx512()) return avx512::DotRowsF32InDouble(rows, stride, n_rows, x, n, out);
  for (int64_t r = 0; r < n_rows; ++r) out[r] = DotInDouble(rows + r * stride, x, n);
}

}  // namespace r1d::kernels
