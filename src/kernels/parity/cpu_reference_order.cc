#include "kernels/parity/cpu_reference_order.h"

#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/ops.h"
#include "kernels/parity/quant_dot_x86.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::parity {
namespace {

using tensor::BlockQ4_0;
using tensor::BlockQ4_K;
using tensor::BlockQ5_0;
using tensor::BlockQ5_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_0;
using tensor::BlockQ8_K;
using tensor::kQK_K;

// Round half to even, as the SIMD round instruction in the default rounding mode.
float RoundEven(float x) { return std::nearbyint(x); }

// Adds, to the 8 integer lanes, the products of one 32-element group: lane l gets elements
// [4l, 4l + 4). The sums are exact, so any grouping inside a lane gives the same value.
inline void AddGroupLanes(const int* q, const int8_t* y, int scale, int32_t* lanes) {
  for (int l = 0; l < 8; ++l) {
    int32_t s = 0;
    for (int e = 4 * l; e < 4 * l + 4; ++e) s += q[e] * y[e];
    lanes[l] += scale * s;
  }
}

// acc[l] = fma(d, lanes[l], acc[l]): the per-block accumulation of the x86 kernels.
inline void FmaLanes(float d, const int32_t* lanes, float* acc) {
  for (int l = 0; l < 8; ++l) acc[l] = std::fma(d, static_cast<float>(lanes[l]), acc[l]);
}

// 32-element block types against Q8_0: unpack to signed ints, then the shared lane loop.
template <class BW, class Unpack>
float LegacyDot(int64_t n, const void* w, const void* a, Unpack unpack) {
  const BW* x = static_cast<const BW*>(w);
  const BlockQ8_0* y = static_cast<const BlockQ8_0*>(a);
  float acc[8] = {};
  int q[32];
  for (int64_t b = 0; b < n / 32; ++b) {
    unpack(x[b], q);
    int32_t lanes[8] = {};
    AddGroupLanes(q, y[b].qs, 1, lanes);
    FmaLanes(Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d), lanes, acc);
  }
  return Hsum8(acc);
}

float DotQ8_0(int64_t n, const void* w, const void* a) {
  return LegacyDot<BlockQ8_0>(n, w, a, [](const BlockQ8_0& b, int* q) {
    for (int e = 0; e < 32; ++e) q[e] = b.qs[e];
  });
}

float DotQ4_0(int64_t n, const void* w, const void* a) {
  return LegacyDot<BlockQ4_0>(n, w, a, [](const BlockQ4_0& b, int* q) {
    for (int e = 0; e < 16; ++e) {
      q[e] = (b.qs[e] & 0xF) - 8;
      q[e + 16] = (b.qs[e] >> 4) - 8;
    }
  });
}

float DotQ5_0(int64_t n, const void* w, const void* a) {
  return LegacyDot<BlockQ5_0>(n, w, a, [](const BlockQ5_0& b, int* q) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    for (int e = 0; e < 16; ++e) {
      q[e] = ((b.qs[e] & 0xF) | (((qh >> e) & 1) << 4)) - 16;
      q[e + 16] = ((b.qs[e] >> 4) | (((qh >> (e + 16)) & 1) << 4)) - 16;
    }
  });
}

// Q4_K / Q5_K packed 6-bit scales and mins of the 8 sub-blocks.
void ScalesMinsK(const uint8_t* s, int* sc, int* mn) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      sc[j] = s[j] & 63;
      mn[j] = s[j + 4] & 63;
    } else {
      sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
  }
}

// The Q4_K/Q5_K kernel: quants times scales in 8 lanes; mins times the activation block sums
// in 4 lanes (lane k: sub-blocks 2k and 2k+1), each with one FMA per super-block. Q4_K folds
// the 4 min lanes pairwise at the end; Q5_K (`scalar_mins`) sums them as integers per block
// and accumulates one float with a (compiler-contracted) FMA.
template <class BW, class Unpack>
float KDotWithMins(int64_t n, const void* w, const void* a, bool scalar_mins, Unpack unpack) {
  const BW* x = static_cast<const BW*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  float acc[8] = {};
  float acc_m[4] = {};
  float summs = 0;
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = y[b].d * Fp16ToFp32(x[b].d);
    const float dmin = -y[b].d * Fp16ToFp32(x[b].dmin);
    int sc[8], mn[8];
    ScalesMinsK(x[b].scales, sc, mn);
    unpack(x[b], q);
    int32_t lanes[8] = {};
    for (int g = 0; g < 8; ++g) AddGroupLanes(q + 32 * g, y[b].qs + 32 * g, sc[g], lanes);
    const int16_t* bs = y[b].bsums;
    int32_t m4[4];
    for (int k = 0; k < 4; ++k) {
      m4[k] =
          mn[2 * k] * (bs[4 * k] + bs[4 * k + 1]) + mn[2 * k + 1] * (bs[4 * k + 2] + bs[4 * k + 3]);
    }
    if (scalar_mins) {
      summs = std::fma(dmin, static_cast<float>(m4[0] + m4[1] + m4[2] + m4[3]), summs);
    } else {
      for (int k = 0; k < 4; ++k) acc_m[k] = std::fma(dmin, static_cast<float>(m4[k]), acc_m[k]);
    }
    FmaLanes(d, lanes, acc);
  }
  if (scalar_mins) return Hsum8(acc) + summs;
  const float m = (acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3]);
  return Hsum8(acc) + m;
}

float DotQ4_K(int64_t n, const void* w, const void* a) {
  return KDotWithMins<BlockQ4_K>(n, w, a, false, [](const BlockQ4_K& b, int* q) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        q[64 * j + l] = b.qs[32 * j + l] & 0xF;
        q[64 * j + 32 + l] = b.qs[32 * j + l] >> 4;
      }
    }
  });
}

float DotQ5_K(int64_t n, const void* w, const void* a) {
  return KDotWithMins<BlockQ5_K>(n, w, a, true, [](const BlockQ5_K& b, int* q) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        q[64 * j + l] = (b.qs[32 * j + l] & 0xF) | (((b.qh[l] >> (2 * j)) & 1) << 4);
        q[64 * j + 32 + l] = (b.qs[32 * j + l] >> 4) | (((b.qh[l] >> (2 * j + 1)) & 1) << 4);
      }
    }
  });
}

float DotQ6_K(int64_t n, const void* w, const void* a) {
  const BlockQ6_K* x = static_cast<const BlockQ6_K*>(w);
  const BlockQ8_K* y = static_cast<const BlockQ8_K*>(a);
  float acc[8] = {};
  int q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = y[b].d * Fp16ToFp32(x[b].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      int* o = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        o[l] = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        o[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        o[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        o[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      }
    }
    int32_t lanes[8] = {};
    // 16-element sub-blocks: lanes 0-3 of a 32-group use the first scale, 4-7 the second.
    for (int g = 0; g < 8; ++g) {
      const int* qg = q + 32 * g;
      const int8_t* yg = y[b].qs + 32 * g;
      for (int l = 0; l < 8; ++l) {
        int32_t s = 0;
        for (int e = 4 * l; e < 4 * l + 4; ++e) s += qg[e] * yg[e];
        lanes[l] += x[b].scales[2 * g + l / 4] * s;
      }
    }
    FmaLanes(d, lanes, acc);
  }
  return Hsum8(acc);
}

}  // namespace

namespace {
void PortableQuantizeRowQ8_0(const float* src, void* dst, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* x = src + 32 * b;
    float amax = 0;
    for (int e = 0; e < 32; ++e) amax = std::fmax(amax, std::fabs(x[e]));
    const float d = amax / 127.0f;
    y[b].d = Fp32ToFp16(d);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int e = 0; e < 32; ++e) y[b].qs[e] = static_cast<int8_t>(RoundEven(x[e] * id));
  }
}
}  // namespace

VecDotFn GetVecDot(int type) {
  static const bool simd = BestIsa() >= Isa::kAvx2;
  if (simd) {
    switch (static_cast<tensor::DType>(type)) {
      case tensor::DType::kQ8_0:
        return avx2::DotQ8_0;
      case tensor::DType::kQ4_0:
        return avx2::DotQ4_0;
      case tensor::DType::kQ5_0:
        return avx2::DotQ5_0;
      case tensor::DType::kQ4_K:
        return avx2::DotQ4_K;
      case tensor::DType::kQ5_K:
        return avx2::DotQ5_K;
      case tensor::DType::kQ6_K:
        return avx2::DotQ6_K;
      default:
        break;
    }
  }
  return GetPortableVecDot(type);
}

VecDotFn GetPortableVecDot(int type) {
  switch (static_cast<tensor::DType>(type)) {
    case tensor::DType::kQ8_0:
      return DotQ8_0;
    case tensor::DType::kQ4_0:
      return DotQ4_0;
    case tensor::DType::kQ5_0:
      return DotQ5_0;
    case tensor::DType::kQ4_K:
      return DotQ4_K;
    case tensor::DType::kQ5_K:
      return DotQ5_K;
    case tensor::DType::kQ6_K:
      return DotQ6_K;
    default:
      return nullptr;
  }
}

float Hsum8(const float* v) {
  float r[4];
  for (int i = 0; i < 4; ++i) r[i] = v[i + 4] + v[i];
  return (r[0] + r[2]) + (r[1] + r[3]);
}

float Hsum16(const float* v) {
  float t[8];
  for (int i = 0; i < 8; ++i) t[i] = v[i + 8] + v[i];
  return Hsum8(t);
}

namespace {
// One vdpbf16ps step of lane j: acc + x[1] * y[1], then + x[0] * y[0] (each product exact).
float Bf16ToFloatDaz(uint16_t h) {
  const float v = Bf16ToFp32(h);
  return (h & 0x7F80u) == 0 ? std::copysign(0.0f, v) : v;
}
float DpBf16Lane(float acc, const uint16_t* x, const uint16_t* y) {
  acc = acc + Bf16ToFloatDaz(x[1]) * Bf16ToFloatDaz(y[1]);
  return acc + Bf16ToFloatDaz(x[0]) * Bf16ToFloatDaz(y[0]);
}
// Accumulator `acc` (16 lanes) over the 32 elements at x, y.
void DpBf16Step(float* acc, const uint16_t* x, const uint16_t* y) {
  for (int j = 0; j < 16; ++j) acc[j] = DpBf16Lane(acc[j], x + 2 * j, y + 2 * j);
}
}  // namespace

float VecDotBF16Dp(const uint16_t* x, const uint16_t* y, int64_t n) {
  float c1[16] = {}, c2[16] = {};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    DpBf16Step(c1, x + i, y + i);
    DpBf16Step(c2, x + i + 32, y + i + 32);
  }
  double sum = static_cast<double>(Hsum16(c1));
  sum += static_cast<double>(Hsum16(c2));
  for (; i < n; ++i) sum += static_cast<double>(Bf16ToFp32(x[i]) * Bf16ToFp32(y[i]));
  return static_cast<float>(sum);
}

float TinyBlasDotBF16Dp(const uint16_t* x, const uint16_t* y, int64_t n) {
  float acc[16] = {};
  for (int64_t i = 0; i < n; i += 32) DpBf16Step(acc, x + i, y + i);
  return Hsum16(acc);
}

namespace {
template <class T, class Acc, class Conv>
float VecDotFloat(const T* x, const T* y, int64_t n, Conv conv) {
  float sum[4][16] = {};
  const int64_t np = n & ~int64_t{63};
  for (int64_t i = 0; i < np; i += 64) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 16; ++l) {
        const int64_t k = i + 16 * j + l;
        sum[j][l] = std::fma(conv(x[k]), conv(y[k]), sum[j][l]);
      }
    }
  }
  float s[16];
  for (int l = 0; l < 16; ++l) s[l] = (sum[0][l] + sum[2][l]) + (sum[1][l] + sum[3][l]);
  Acc acc = Hsum16(s);
  for (int64_t k = np; k < n; ++k) {
    if constexpr (sizeof(Acc) == sizeof(double)) {
      acc += static_cast<double>(conv(x[k]) * conv(y[k]));
    } else {
      acc = std::fma(conv(x[k]), conv(y[k]), acc);  // ggml's float tail, FMA-contracted
    }
  }
  return static_cast<float>(acc);
}

template <class T, class Conv>
float TinyBlasFloat(const T* x, const T* y, int64_t n, Conv conv) {
  float acc[16] = {};
  for (int64_t i = 0; i < n; i += 16) {
    for (int l = 0; l < 16; ++l) acc[l] = std::fma(conv(x[i + l]), conv(y[i + l]), acc[l]);
  }
  return Hsum16(acc);
}

float PortableVecDotF16(const uint16_t* x, const uint16_t* y, int64_t n) {
  return VecDotFloat<uint16_t, double>(x, y, n, [](uint16_t h) { return Fp16ToFp32(h); });
}
float PortableVecDotF32(const float* x, const float* y, int64_t n) {
  return VecDotFloat<float, float>(x, y, n, [](float f) { return f; });
}
float PortableTinyBlasDotF16(const uint16_t* x, const uint16_t* y, int64_t n) {
  return TinyBlasFloat(x, y, n, [](uint16_t h) { return Fp16ToFp32(h); });
}
float PortableTinyBlasDotF32(const float* x, const float* y, int64_t n) {
  return TinyBlasFloat(x, y, n, [](float f) { return f; });
}
void PortableFmaF16Row(float* acc, const uint16_t* v, float p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] = std::fma(Fp16ToFp32(v[i]), p, acc[i]);
}
void PortableExpRow(float* x, float sub, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = VExpf(x[i] - sub);
}
void PortableSiluMulRow(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = VSilu(gate[i]) * up[i];
}

float PortableMaxRow(const float* x, int64_t n) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = max < x[i] ? x[i] : max;
  return max;
}
double PortableChunkSums16(const float* x, int64_t n) {
  double sum = 0;
  for (int64_t c = 0; c < n; c += 16) {
    float chunk[16] = {};
    for (int64_t l = 0; l < 16 && c + l < n; ++l) chunk[l] = x[c + l];
    sum += static_cast<double>(Hsum16(chunk));
  }
  return sum;
}

// The SIMD row kernels take the portable scalar function for their rare out-of-range lanes.
void Avx2ExpRow(float* x, float sub, int64_t n) { avx2::ExpRow(x, sub, n, VExpf); }
void Avx2SiluMulRow(const float* gate, const float* up, int64_t n, float* out) {
  avx2::SiluMulRow(gate, up, n, out, VSilu);
}

constexpr FloatKernels kPortable = {
    PortableVecDotF16, PortableVecDotF32,   PortableTinyBlasDotF16, PortableTinyBlasDotF32,
    PortableFmaF16Row, PortableExpRow,      PortableSiluMulRow,     PortableQuantizeRowQ8_0,
    PortableMaxRow,    PortableChunkSums16,
};
constexpr FloatKernels kAvx2 = {
    avx2::VecDotF16, avx2::VecDotF32,   avx2::TinyBlasDotF16, avx2::TinyBlasDotF32,
    avx2::FmaF16Row, Avx2ExpRow,        Avx2SiluMulRow,       avx2::QuantizeRowQ8_0,
    avx2::MaxRow,    avx2::ChunkSums16,
};
}  // namespace

const FloatKernels& PortableFloatKernels() { return kPortable; }
const FloatKernels& FastFloatKernels() {
  static const FloatKernels& fast = BestIsa() >= Isa::kAvx2 ? kAvx2 : kPortable;
  return fast;
}

void QuantizeRowQ8_0(const float* src, void* dst, int64_t n) {
  FastFloatKernels().quantize_row_q8_0(src, dst, n);
}
float VecDotF16(const uint16_t* x, const uint16_t* y, int64_t n) {
  return FastFloatKernels().vec_dot_f16(x, y, n);
}
float VecDotF32(const float* x, const float* y, int64_t n) {
  return FastFloatKernels().vec_dot_f32(x, y, n);
}
float TinyBlasDotF16(const uint16_t* x, const uint16_t* y, int64_t n) {
  return FastFloatKernels().tiny_blas_dot_f16(x, y, n);
}
float TinyBlasDotF32(const float* x, const float* y, int64_t n) {
  return FastFloatKernels().tiny_blas_dot_f32(x, y, n);
}
void FmaF16Row(float* acc, const uint16_t* v, float p, int64_t n) {
  FastFloatKernels().fma_f16_row(acc, v, p, n);
}
void ExpRow(float* x, float sub, int64_t n) { FastFloatKernels().exp_row(x, sub, n); }
void SiluMulRow(const float* gate, const float* up, int64_t n, float* out) {
  FastFloatKernels().silu_mul_row(gate, up, n, out);
}

float VExpf(float x) {
  const float r = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, r);
  const float n = z - r;
  if (!(std::fabs(n) <= 192.0f)) {
    // Out of range (or -inf input): the kernel returns +inf above, +0 below.
    return n <= 0 ? 0.0f : INFINITY;
  }
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  return std::ldexp(j, static_cast<int>(n));
}

float VSilu(float x) { return x / (1.0f + VExpf(0.0f - x)); }

}  // namespace r1d::kernels::parity
