#pragma once
// Row-wise F32 ops of the transformer block. Reductions accumulate in double, as llama.cpp's CPU
// backend does, so results match it closely.
#include <cstdint>

namespace r1d::kernels {

// out = x / sqrt(mean(x^2) + eps) * weight (weight may be null: no scaling).
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out);

enum class RopeStyle {
  kAdjacentPairs,  // llama: rotates (x[2i], x[2i+1])
  kHalves,         // neox / qwen2: rotates (x[i], x[i + n_rot/2])
};

// Precomputed cos/sin of one position for the n_rot rotated dimensions.
// freq_factors (may be null) divides each pair's angle (Llama 3 long-context scaling).
void RopeAngles(int64_t pos, int64_t n_rot, float freq_base, float freq_scale,
                const float* freq_factors, float* cos_out, float* sin_out);
// Rotates the first n_rot values of a head vector in place.
void ApplyRope(float* x, int64_t n_rot, RopeStyle style, const float* cos_v, const float* sin_v);

// In-place softmax over n values.
void Softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i].
void SiluMul(const float* gate, const float* up, int64_t n, float* out);

// y[i] += x[i].
void AddInPlace(float* y, const float* x, int64_t n);

// y[i] = a * x[i].
void Scale(float a, const float* x, float* y, int64_t n);

// y[i] += a * x[i], product and sum each rounded (no fused multiply-add).
void Axpy(float a, const float* x, float* y, int64_t n);

// Axpy(a[r], rows + r * stride, y, n) for r = 0 .. n_rows - 1, in that order: the same bits,
// with y held in registers across the rows.
void AxpyRows(const float* a, const float* rows, int64_t stride, int64_t n_rows, float* y,
              int64_t n);

// The sum of the float products x[i] * y[i], accumulated in double (in an unspecified order).
double DotInDouble(const float* x, const float* y, int64_t n);

// out[r] = DotInDouble(rows + r * stride, x, n) for r = 0 .. n_rows - 1, bit for bit, several
// rows at a time.
void DotRowsInDouble(const float* rows, int64_t stride, int64_t n_rows, const float* x, int64_t n,
                     double* out);

// The sum of the products x[i] * y[i] in float, in one fixed order on every CPU: 8 lanes, lane l
// adding x[i] * y[i] for i % 8 == l over whole 8-element steps (product and sum each rounded),
// folded as ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), then the remaining elements one by
// one.
float DotLanes8(const float* x, const float* y, int64_t n);

}  // namespace r1d::kernels
