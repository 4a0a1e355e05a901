// Scalar kernels of the 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::ref {
namespace {

using tensor::BlockQ4_0;
using tensor::BlockQ4_1;
using tensor::BlockQ5_0;
using tensor::BlockQ5_1;
using tensor::BlockQ8_0;
using tensor::BlockQ8_1;
constexpr int kQK = 32;

// Quantized values of one block as plain integers, in element order.
void UnpackQ4(const uint8_t* qs, int* q) {
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = qs[j] & 0x0F;
    q[j + kQK / 2] = qs[j] >> 4;
  }
}

void UnpackQ5(const uint8_t* qs, const uint8_t* qh_bytes, int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof(qh));
  UnpackQ4(qs, q);
  for (int j = 0; j < kQK; ++j) q[j] |= static_cast<int>((qh >> j) & 1u) << 4;
}

void PackQ4(const int* q, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + kQK / 2] << 4));
}

void PackQ5(const int* q, uint8_t* qs, uint8_t* qh_bytes) {
  int low[kQK];
  uint32_t qh = 0;
  for (int j = 0; j < kQK; ++j) {
    low[j] = q[j] & 0x0F;
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  }
  PackQ4(low, qs);
  std::memcpy(qh_bytes, &qh, sizeof(qh));
}

// Symmetric quantizer for Q4_0 / Q5_0 (levels 0..2*half-1, value d*(q-half)): the element of
// largest magnitude maps exactly to -half, as ggml's reference quantizer does.
float QuantizeSymmetric(const float* x, int half, int* q) {
  float amax = 0, max = 0;
  for (int j = 0; j < kQK; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / static_cast<float>(-half);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) {
    // Truncation after adding half + 0.5 rounds half up; the value is >= 0.5 here.
    q[j] = std::min(2 * half - 1, static_cast<int>(x[j] * id + static_cast<float>(half) + 0.5f));
  }
  return d;
}

// Asymmetric quantizer for Q4_1 / Q5_1: value = d*q + min over levels 0..nmax.
void QuantizeAsymmetric(const float* x, int nmax, int* q, float* d_out, float* min_out) {
  float mn = x[0], mx = x[0];
  for (int j = 1; j < kQK; ++j) {
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
  const float d = (mx - mn) / static_cast<float>(nmax);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) {
    q[j] = std::min(nmax, static_cast<int>((x[j] - mn) * id + 0.5f));
  }
  *d_out = d;
  *min_out = mn;
}

// ggml's quantize_row_q8_0_ref / q8_1_ref: d = amax/127, q = roundf(x * (1/d)).
float QuantizeQ8(const float* x, int8_t* qs) {
  float amax = 0;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  return d;
}

int DotI8(const int* q, const int8_t* y) {
  int sum = 0;
  for (int j = 0; j < kQK; ++j) sum += q[j] * y[j];
  return sum;
}

}  // namespace

// ---- Q4_0 ----
void DequantizeRowQ4_0(const void* src, float* dst, int64_t n) {
  const BlockQ4_0* x = static_cast<const BlockQ4_0*>(src);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    UnpackQ4(x[i].qs, q);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(q[j] - 8) * d;
  }
}

void QuantizeRowQ4_0(const float* src, void* dst, int64_t n) {
  BlockQ4_0* y = static_cast<BlockQ4_0*>(dst);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    y[i].d = Fp32ToFp16(QuantizeSymmetric(src + i * kQK, 8, q));
    PackQ4(q, y[i].qs);
  }
}

float VecDotQ4_0(int64_t n, const void* w, const void* a) {
  const BlockQ4_0* x = static_cast<const BlockQ4_0*>(w);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(a);
  int q[kQK];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    UnpackQ4(x[i].qs, q);
    for (int& v : q) v -= 8;
    sum += static_cast<float>(DotI8(q, y[i].qs)) * (Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d));
  }
  return sum;
}

// ---- Q4_1 ----
void DequantizeRowQ4_1(const void* src, float* dst, int64_t n) {
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(src);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float m = Fp16ToFp32(x[i].m);
    UnpackQ4(x[i].qs, q);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(q[j]) * d + m;
  }
}

void QuantizeRowQ4_1(const float* src, void* dst, int64_t n) {
  BlockQ4_1* y = static_cast<BlockQ4_1*>(dst);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    float d, m;
    QuantizeAsymmetric(src + i * kQK, 15, q, &d, &m);
    y[i].d = Fp32ToFp16(d);
    y[i].m = Fp32ToFp16(m);
    PackQ4(q, y[i].qs);
  }
}

float VecDotQ4_1(int64_t n, const void* w, const void* a) {
  const BlockQ4_1* x = static_cast<const BlockQ4_1*>(w);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(a);
  int q[kQK];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    UnpackQ4(x[i].qs, q);
    sum += static_cast<float>(DotI8(q, y[i].qs)) * (Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d)) +
           Fp16ToFp32(x[i].m) * Fp16ToFp32(y[i].s);
  }
  return sum;
}

// ---- Q5_0 ----
void DequantizeRowQ5_0(const void* src, float* dst, int64_t n) {
  const BlockQ5_0* x = static_cast<const BlockQ5_0*>(src);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    UnpackQ5(x[i].qs, x[i].qh, q);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(q[j] - 16) * d;
  }
}

void QuantizeRowQ5_0(const float* src, void* dst, int64_t n) {
  BlockQ5_0* y = static_cast<BlockQ5_0*>(dst);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    y[i].d = Fp32ToFp16(QuantizeSymmetric(src + i * kQK, 16, q));
    PackQ5(q, y[i].qs, y[i].qh);
  }
}

float VecDotQ5_0(int64_t n, const void* w, const void* a) {
  const BlockQ5_0* x = static_cast<const BlockQ5_0*>(w);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(a);
  int q[kQK];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    UnpackQ5(x[i].qs, x[i].qh, q);
    for (int& v : q) v -= 16;
    sum += static_cast<float>(DotI8(q, y[i].qs)) * (Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d));
  }
  return sum;
}

// ---- Q5_1 ----
void DequantizeRowQ5_1(const void* src, float* dst, int64_t n) {
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(src);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float m = Fp16ToFp32(x[i].m);
    UnpackQ5(x[i].qs, x[i].qh, q);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(q[j]) * d + m;
  }
}

void QuantizeRowQ5_1(const float* src, void* dst, int64_t n) {
  BlockQ5_1* y = static_cast<BlockQ5_1*>(dst);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    float d, m;
    QuantizeAsymmetric(src + i * kQK, 31, q, &d, &m);
    y[i].d = Fp32ToFp16(d);
    y[i].m = Fp32ToFp16(m);
    PackQ5(q, y[i].qs, y[i].qh);
  }
}

float VecDotQ5_1(int64_t n, const void* w, const void* a) {
  const BlockQ5_1* x = static_cast<const BlockQ5_1*>(w);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(a);
  int q[kQK];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    UnpackQ5(x[i].qs, x[i].qh, q);
    sum += static_cast<float>(DotI8(q, y[i].qs)) * (Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d)) +
           Fp16ToFp32(x[i].m) * Fp16ToFp32(y[i].s);
  }
  return sum;
}

// ---- Q8_0 ----
void DequantizeRowQ8_0(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

void QuantizeRowQ8_0(const float* src, void* dst, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) y[i].d = Fp32ToFp16(QuantizeQ8(src + i * kQK, y[i].qs));
}

float VecDotQ8_0(int64_t n, const void* w, const void* a) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(w);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<float>(sumi) * (Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d));
  }
  return sum;
}

// ---- Q8_1 (activations of Q4_1 / Q5_1) ----
void DequantizeRowQ8_1(const void* src, float* dst, int64_t n) {
  const BlockQ8_1* x = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

void QuantizeRowQ8_1(const float* src, void* dst, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = QuantizeQ8(src + i * kQK, y[i].qs);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += y[i].qs[j];
    y[i].d = Fp32ToFp16(d);
    y[i].s = Fp32ToFp16(static_cast<float>(sum) * d);
  }
}

float VecDotQ8_1(int64_t n, const void* w, const void* a) {
  const BlockQ8_1* x = static_cast<const BlockQ8_1*>(w);
  const BlockQ8_1* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<float>(sumi) * (Fp16ToFp32(x[i].d) * Fp16ToFp32(y[i].d));
  }
  return sum;
}

}  // namespace r1d::kernels::ref
