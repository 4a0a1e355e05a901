// Scalar kernels of the k-quants (256-element super-blocks): Q4_K, Q5_K, Q6_K and the
// activation type Q8_K. Layouts: see tensor/quant_blocks.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/ref/ref_kernels.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::ref {

using tensor::BlockQ4_K;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_K;
using tensor::kQK_K;

int NearestInt(float x) {
  // Adding 1.5 * 2^23 makes the FPU round to an integer (ties to even) in the low mantissa bits.
  const float v = x + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & 0x007FFFFF) - 0x00400000;
}

void UnpackScaleMinK4(const uint8_t* scales, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

void PackScaleMinK4(const uint8_t* scales8, const uint8_t* mins8, uint8_t* out12) {
  for (int j = 0; j < 4; ++j) {
    // Low 6 bits of scales 0-3 / mins 0-3; the top 2 bits carry the high bits of 4-7.
    out12[j] = static_cast<uint8_t>((scales8[j] & 63) | ((scales8[j + 4] >> 4) << 6));
    out12[j + 4] = static_cast<uint8_t>((mins8[j] & 63) | ((mins8[j + 4] >> 4) << 6));
    out12[j + 8] = static_cast<uint8_t>((scales8[j + 4] & 0x0F) | ((mins8[j + 4] & 0x0F) << 4));
  }
}

namespace {

constexpr int kSub = 32;  // elements per Q4_K/Q5_K sub-block

// Quants (0..15 or 0..31) of a Q4_K / Q5_K super-block in element order.
void UnpackQ4K(const uint8_t* qs, int* q) {
  for (int c = 0; c < kQK_K / 64; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = qs[32 * c + l] & 0x0F;
      q[64 * c + 32 + l] = qs[32 * c + l] >> 4;
    }
  }
}

void UnpackQ5K(const uint8_t* qs, const uint8_t* qh, int* q) {
  UnpackQ4K(qs, q);
  for (int e = 0; e < kQK_K; ++e) q[e] |= ((qh[e % 32] >> (e / 32)) & 1) << 4;
}

void PackQ4K(const int* q, uint8_t* qs) {
  for (int c = 0; c < kQK_K / 64; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] = static_cast<uint8_t>((q[64 * c + l] & 0x0F) | (q[64 * c + 32 + l] << 4));
    }
  }
}

void PackQ5K(const int* q, uint8_t* qs, uint8_t* qh) {
  int low[kQK_K];
  std::memset(qh, 0, kQK_K / 8);
  for (int e = 0; e < kQK_K; ++e) {
    low[e] = q[e] & 0x0F;
    qh[e % 32] = static_cast<uint8_t>(qh[e % 32] | (((q[e] >> 4) & 1) << (e / 32)));
  }
  PackQ4K(low, qs);
}

// Signed quants (-32..31) of a Q6_K super-block in element order.
void UnpackQ6K(const BlockQ6_K& b, int* q) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int* out = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      out[l] = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      out[l + 32] = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      out[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      out[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
    }
  }
}

void PackQ6K(const int* q, BlockQ6_K* b) {
  std::memset(b->ql, 0, sizeof(b->ql));
  std::memset(b->qh, 0, sizeof(b->qh));
  for (int e = 0; e < kQK_K; ++e) {
    const int u = q[e] + 32;  // 0..63
    const int h = e / 128, r = e % 128, l = r % 32, grp = r / 32;
    const int li = 64 * h + l + (grp & 1) * 32;
    b->ql[li] = static_cast<uint8_t>(b->ql[li] | ((u & 0x0F) << ((grp >> 1) * 4)));
    b->qh[32 * h + l] = static_cast<uint8_t>(b->qh[32 * h + l] | ((u >> 4) << (2 * grp)));
  }
}

// Simple asymmetric quantizer shared by Q4_K (nmax 15) and Q5_K (nmax 31): per sub-block
// scale = (max - min) / nmax with min clamped to <= 0, then 6-bit scales/mins relative to the
// largest, then the quants against the rounded scales.
void QuantizeKAsym(const float* x, int nmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales12,
                   int* q) {
  float scale[8], minv[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + kSub * j;
    float mn = 0, mx = xs[0];
    for (int l = 0; l < kSub; ++l) {
      mn = std::min(mn, xs[l]);
      mx = std::max(mx, xs[l]);
    }
    scale[j] = (mx - mn) / static_cast<float>(nmax);
    minv[j] = -mn;
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, minv[j]);
  }
  *d_out = Fp32ToFp16(max_scale / 63.0f);
  *dmin_out = Fp32ToFp16(max_min / 63.0f);
  const float d = Fp16ToFp32(*d_out);
  const float dmin = Fp16ToFp32(*dmin_out);
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(d > 0 ? std::clamp(NearestInt(scale[j] / d), 0, 63) : 0);
    lm[j] = static_cast<uint8_t>(dmin > 0 ? std::clamp(NearestInt(minv[j] / dmin), 0, 63) : 0);
    const float sd = d * ls[j];
    const float sm = dmin * lm[j];
    for (int l = 0; l < kSub; ++l) {
      const int v = sd > 0 ? NearestInt((x[kSub * j + l] + sm) / sd) : 0;
      q[kSub * j + l] = std::clamp(v, 0, nmax);
    }
  }
  PackScaleMinK4(ls, lm, scales12);
}

void ScalesMinsK4(const uint8_t* scales12, int* sc, int* mn) {
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    UnpackScaleMinK4(scales12, j, &s, &m);
    sc[j] = s;
    mn[j] = m;
  }
}

// The shared part of the Q4_K/Q5_K . Q8_K dot product for one super-block.
float DotKAsym(const int* q, const int* sc, const int* mn, uint16_t d16, uint16_t dmin16,
               const BlockQ8_K& y) {
  int sumi = 0;
  for (int j = 0; j < 8; ++j) {
    int s = 0;
    for (int l = 0; l < kSub; ++l) s += q[kSub * j + l] * y.qs[kSub * j + l];
    sumi += sc[j] * s;
  }
  int summ = 0;
  for (int j = 0; j < 8; ++j) summ += mn[j] * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
  const float d = Fp16ToFp32(d16) * y.d;
  const float dmin = Fp16ToFp32(dmin16) * y.d;
  return d * static_cast<float>(sumi) - dmin * static_cast<float>(summ);
}

}  // namespace

// ---- Q4_K ----
void DequantizeRowQ4_K(const void* src, float* dst, int64_t n) {
  const BlockQ4_K* x = static_cast<const BlockQ4_K*>(src);
  int q[kQK_K], sc[8], mn[8];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float dmin = Fp16ToFp32(x[i].dmin);
    UnpackQ4K(x[i].qs, q);
    ScalesMinsK4(x[i].scales, sc, mn);
    for (int e = 0; e < kQK_K; ++e) {
      const float ds = d * static_cast<float>(sc[e / kSub]);
      const float dm = dmin * static_cast<float>(mn[e / kSub]);
      dst[i * kQK_K + e] = ds * static_cast<float>(q[e]) - dm;
    }
  }
}

void QuantizeRowQ4_K(const float* src, void* dst, int64_t n) {
  BlockQ4_K* y = static_cast<BlockQ4_K*>(dst);
  int q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    QuantizeKAsym(src + i * kQK_K, 15, &y[i].d, &y[i].dmin, y[i].scales, q);
    PackQ4K(q, y[i].qs);
  }
}

float VecDotQ4_K(int64_t n, const void* w, const void* a) {
  const BlockQ4_K* x = static_cast<const BlockQ4_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  int q[kQK_K], sc[8], mn[8];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    UnpackQ4K(x[i].qs, q);
    ScalesMinsK4(x[i].scales, sc, mn);
    sum += DotKAsym(q, sc, mn, x[i].d, x[i].dmin, y[i]);
  }
  return sum;
}

// ---- Q5_K ----
void DequantizeRowQ5_K(const void* src, float* dst, int64_t n) {
  const BlockQ5_K* x = static_cast<const BlockQ5_K*>(src);
  int q[kQK_K], sc[8], mn[8];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    const float dmin = Fp16ToFp32(x[i].dmin);
    UnpackQ5K(x[i].qs, x[i].qh, q);
    ScalesMinsK4(x[i].scales, sc, mn);
    for (int e = 0; e < kQK_K; ++e) {
      const float ds = d * static_cast<float>(sc[e / kSub]);
      const float dm = dmin * static_cast<float>(mn[e / kSub]);
      dst[i * kQK_K + e] = ds * static_cast<float>(q[e]) - dm;
    }
  }
}

void QuantizeRowQ5_K(const float* src, void* dst, int64_t n) {
  BlockQ5_K* y = static_cast<BlockQ5_K*>(dst);
  int q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    QuantizeKAsym(src + i * kQK_K, 31, &y[i].d, &y[i].dmin, y[i].scales, q);
    PackQ5K(q, y[i].qs, y[i].qh);
  }
}

float VecDotQ5_K(int64_t n, const void* w, const void* a) {
  const BlockQ5_K* x = static_cast<const BlockQ5_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  int q[kQK_K], sc[8], mn[8];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    UnpackQ5K(x[i].qs, x[i].qh, q);
    ScalesMinsK4(x[i].scales, sc, mn);
    sum += DotKAsym(q, sc, mn, x[i].d, x[i].dmin, y[i]);
  }
  return sum;
}

// ---- Q6_K ----
void DequantizeRowQ6_K(const void* src, float* dst, int64_t n) {
  const BlockQ6_K* x = static_cast<const BlockQ6_K*>(src);
  int q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = Fp16ToFp32(x[i].d);
    UnpackQ6K(x[i], q);
    for (int e = 0; e < kQK_K; ++e) {
      dst[i * kQK_K + e] = d * static_cast<float>(x[i].scales[e / 16]) * static_cast<float>(q[e]);
    }
  }
}

// Simple symmetric quantizer: per 16 elements a signed scale whose largest-magnitude element
// maps to -32, the 16 scales as int8 relative to the largest, quants against rounded scales.
void QuantizeRowQ6_K(const float* src, void* dst, int64_t n) {
  BlockQ6_K* y = static_cast<BlockQ6_K*>(dst);
  int q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    float scale[16];
    float max_abs_scale = 0;
    for (int s = 0; s < 16; ++s) {
      float amax = 0, max = 0;
      for (int l = 0; l < 16; ++l) {
        if (std::fabs(x[16 * s + l]) > amax) {
          amax = std::fabs(x[16 * s + l]);
          max = x[16 * s + l];
        }
      }
      scale[s] = max / -32.0f;
      max_abs_scale = std::max(max_abs_scale, std::fabs(scale[s]));
    }
    y[i].d = Fp32ToFp16(max_abs_scale / 127.0f);
    const float d = Fp16ToFp32(y[i].d);
    for (int s = 0; s < 16; ++s) {
      const int sc = d > 0 ? std::clamp(NearestInt(scale[s] / d), -127, 127) : 0;
      y[i].scales[s] = static_cast<int8_t>(sc);
      const float sd = d * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        const int v = sd != 0 ? NearestInt(x[16 * s + l] / sd) : 0;
        q[16 * s + l] = std::clamp(v, -32, 31);
      }
    }
    PackQ6K(q, &y[i]);
  }
}

float VecDotQ6_K(int64_t n, const void* w, const void* a) {
  const BlockQ6_K* x = static_cast<const BlockQ6_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  int q[kQK_K];
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    UnpackQ6K(x[i], q);
    int sumi = 0;
    for (int s = 0; s < 16; ++s) {
      int t = 0;
      for (int l = 0; l < 16; ++l) t += q[16 * s + l] * y[i].qs[16 * s + l];
      sumi += x[i].scales[s] * t;
    }
    sum += Fp16ToFp32(x[i].d) * y[i].d * static_cast<float>(sumi);
  }
  return sum;
}

// ---- Q8_K (activations of the k-quants) ----
void DequantizeRowQ8_K(const void* src, float* dst, int64_t n) {
  const BlockQ8_K* x = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    for (int e = 0; e < kQK_K; ++e) dst[i * kQK_K + e] = x[i].d * static_cast<float>(x[i].qs[e]);
  }
}

// ggml's quantize_row_q8_K_ref: the element of largest magnitude (first one on ties) maps to
// -127 (so d is negative when it is positive); ties round to even; bsums per 16.
void QuantizeRowQ8_K(const float* src, void* dst, int64_t n) {
  BlockQ8_K* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    float amax = 0, max = 0;
    for (int e = 0; e < kQK_K; ++e) {
      const float ax = std::fabs(x[e]);
      if (ax > amax) {
        amax = ax;
        max = x[e];
      }
    }
    if (amax == 0) {
      // ggml leaves bsums untouched here; zeroing them keeps the output deterministic.
      std::memset(&y[i], 0, sizeof(y[i]));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int e = 0; e < kQK_K; ++e) {
      y[i].qs[e] = static_cast<int8_t>(std::min(127, NearestInt(iscale * x[e])));
    }
    for (int s = 0; s < kQK_K / 16; ++s) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * s + l];
      y[i].bsums[s] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

float VecDotQ8_K(int64_t n, const void* w, const void* a) {
  const BlockQ8_K* x = static_cast<const BlockQ8_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int sumi = 0;
    for (int e = 0; e < kQK_K; ++e) sumi += x[i].qs[e] * y[i].qs[e];
    sum += x[i].d * y[i].d * static_cast<float>(sumi);
  }
  return sum;
}

}  // namespace r1d::kernels::ref
