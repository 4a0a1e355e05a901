// Strip products (strip_gemm.h) with AVX-512 F + BW + VNNI.
//
// Shared shape: weights are the unsigned operand of vpdpbusd (Q4_K and Q6_K quants are
// unsigned already; Q8_0 quants are stored as q + 128 and a per-block correction of
// -128 * sum(activation quants) starts the sum), activations the signed, broadcast operand.
// One 64-byte vector of a strip holds 4 consecutive quants of each of the 16 rows.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own set1/mask intrinsics as
// uninitialized (a false positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "core/fp16.h"
#include "kernels/strip/strip_gemm.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::strip::avx512 {
namespace {

using tensor::BlockQ4_K;
using tensor::BlockQ6_K;
using tensor::BlockQ8_0;
using tensor::BlockQ8_K;

constexpr int kRows = 16;  // weight rows per strip (one per 32-bit lane)

int64_t RoundUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// The calling thread's strip buffer, 64-byte aligned.
uint8_t* StripBuffer(int64_t bytes) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < static_cast<size_t>(bytes + 64)) buffer.resize(bytes + 64);
  const uintptr_t base = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - base % 64) % 64);
}

int32_t Load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Writes the quants of one row, given as `count` values in element order, into the strip's
// interleaved layout: group g of 4 values goes to dst + g * 64 + row * 4.
void ScatterRowQuants(const uint8_t* values, int count, int row, uint8_t* dst) {
  for (int g = 0; g < count / 4; ++g) std::memcpy(dst + g * 64 + row * 4, values + g * 4, 4);
}

// ---- Q8_0 weights x Q8_0 activations ----

// Hsum8 of cpu_reference_order.h, lane by lane: the 8 accumulators of group l fold as
// ((a4 + a0) + (a6 + a2)) + ((a5 + a1) + (a7 + a3)).
__m512 FoldLanes(const __m512* acc) {
  const __m512 r0 = _mm512_add_ps(acc[4], acc[0]);
  const __m512 r1 = _mm512_add_ps(acc[5], acc[1]);
  const __m512 r2 = _mm512_add_ps(acc[6], acc[2]);
  const __m512 r3 = _mm512_add_ps(acc[7], acc[3]);
  return _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
}

struct Q8_0 {
  static constexpr int kTileTokens = 2;  // tokens whose lane sums stay in registers together
  // Strip block: fp32 scales of the 16 rows, then 8 vectors of quants + 128.
  static constexpr int64_t kBlockBytes = 64 + 8 * 64;

  static int64_t StripBytes(int64_t n) { return n / 32 * kBlockBytes; }

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    const int64_t nb = n / 32;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* out = strip + b * kBlockBytes;
      float* scales = reinterpret_cast<float*>(out);
      for (int r = 0; r < kRows; ++r) {
        uint8_t values[32];
        if (r < rows) {
          const auto* blk = reinterpret_cast<const BlockQ8_0*>(w + r * w_row_bytes) + b;
          scales[r] = Fp16ToFp32(blk->d);
          for (int i = 0; i < 32; ++i) values[i] = static_cast<uint8_t>(blk->qs[i] + 128);
        } else {
          scales[r] = 0.0f;
          std::memset(values, 128, sizeof(values));
        }
        ScatterRowQuants(values, 32, r, out + 64);
      }
    }
  }

  // Prepared activations: all quants; per block the fp32 scale; per block and group of 4
  // quants, -128 * their sum (undoes the + 128 of the weights in that group's lane).
  static int64_t PreparedBytes(int64_t n) { return RoundUp64(n / 32 * (32 + 4 + 32)); }

  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nb = n / 32;
    const auto* y = static_cast<const BlockQ8_0*>(a);
    auto* quants = static_cast<int8_t*>(prepared);
    auto* scales = reinterpret_cast<float*>(quants + nb * 32);
    auto* corrections = reinterpret_cast<int32_t*>(scales + nb);
    for (int64_t b = 0; b < nb; ++b) {
      std::memcpy(quants + b * 32, y[b].qs, 32);
      scales[b] = Fp16ToFp32(y[b].d);
      for (int l = 0; l < 8; ++l) {
        int32_t sum = 0;
        for (int i = 4 * l; i < 4 * l + 4; ++i) sum += y[b].qs[i];
        corrections[b * 8 + l] = -128 * sum;
      }
    }
  }

  // Per block and lane l (quants 4l..4l+3): acc[l] = fma(dw * da, lane sum, acc[l]), as
  // LegacyDot does for each row.
  template <int T>
  static void Tile(int64_t n, const uint8_t* strip, const uint8_t* act, int64_t act_stride,
                   float* y, int64_t y_stride, __mmask16 mask) {
    const int64_t nb = n / 32;
    __m512 acc[T][8];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) acc[t][l] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = strip + b * kBlockBytes;
      const __m512 dw = _mm512_load_ps(blk);
      __m512i w[8];
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) w[l] = _mm512_load_si512(blk + 64 + l * 64);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = act + t * act_stride;
        const uint8_t* q = at + b * 32;
        const int32_t* corr = reinterpret_cast<const int32_t*>(at + nb * 36) + b * 8;
        const __m512 d =
            _mm512_mul_ps(dw, _mm512_set1_ps(reinterpret_cast<const float*>(at + nb * 32)[b]));
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          const __m512i sum = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[l]), w[l],
                                                  _mm512_set1_epi32(Load32(q + l * 4)));
          acc[t][l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sum), acc[t][l]);
        }
      }
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride, mask, FoldLanes(acc[t]));
  }
};

// ---- Q4_K and Q6_K weights x Q8_K activations ----

// The 6-bit scale and min of sub-block j of a Q4_K block.
void Q4KScaleMin(const uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// A scale for vpdpwssd against a 32-bit lane sum that fits 16 bits: the scale in the low
// 16 bits, zero in the high ones (which multiply the sum's sign extension).
int32_t LowHalfScale(int scale) { return static_cast<uint16_t>(static_cast<int16_t>(scale)); }

// Q8_K activations: all quants, then per super-block the fp32 scale, then per super-block
// `kExtraDwords` dwords of the format's own (`Extra`).
template <int kExtraDwords>
struct Q8KActivations {
  static int64_t PreparedBytes(int64_t n) {
    return RoundUp64(n / 256 * (256 + 4 + 4 * kExtraDwords));
  }
  static const int8_t* Quants(const uint8_t* act) { return reinterpret_cast<const int8_t*>(act); }
  static float Scale(const uint8_t* act, int64_t nsb, int64_t sb) {
    return reinterpret_cast<const float*>(act + nsb * 256)[sb];
  }
  static const int32_t* Extra(const uint8_t* act, int64_t nsb, int64_t sb) {
    return reinterpret_cast<const int32_t*>(act + nsb * 260) + sb * kExtraDwords;
  }
  // Copies quants and scale; returns where super-block sb's extra dwords go.
  static int32_t* CopyBlock(const BlockQ8_K& y, int64_t nsb, int64_t sb, uint8_t* prepared) {
    std::memcpy(prepared + sb * 256, y.qs, 256);
    reinterpret_cast<float*>(prepared + nsb * 256)[sb] = y.d;
    return reinterpret_cast<int32_t*>(prepared + nsb * 260) + sb * kExtraDwords;
  }
};

struct Q4_K : Q8KActivations<4> {
  static constexpr int kTileTokens = 1;  // 8 lane sums of 2 tokens would spill (GCC 12)
  // Strip super-block: fp32 d and dmin of the 16 rows; the 8 sub-block scales (low-half
  // vectors); the 8 mins as 4 vectors of int16 pairs; then 8 sub-blocks x 8 vectors of quants.
  static constexpr int64_t kScalesAt = 128;
  static constexpr int64_t kMinsAt = kScalesAt + 8 * 64;
  static constexpr int64_t kQuantsAt = kMinsAt + 4 * 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 64 * 64;

  static int64_t StripBytes(int64_t n) { return n / 256 * kBlockBytes; }

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    const int64_t nsb = n / 256;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      uint8_t* out = strip + sb * kBlockBytes;
      std::memset(out, 0, kQuantsAt);
      auto* d = reinterpret_cast<float*>(out);
      auto* scales = reinterpret_cast<int32_t*>(out + kScalesAt);
      auto* mins = reinterpret_cast<int16_t*>(out + kMinsAt);
      for (int r = 0; r < kRows; ++r) {
        uint8_t values[256] = {};
        if (r < rows) {
          const auto* blk = reinterpret_cast<const BlockQ4_K*>(w + r * w_row_bytes) + sb;
          d[r] = Fp16ToFp32(blk->d);
          d[16 + r] = Fp16ToFp32(blk->dmin);
          for (int j = 0; j < 8; ++j) {
            int scale, min;
            Q4KScaleMin(blk->scales, j, scale, min);
            scales[j * 16 + r] = LowHalfScale(scale);
            mins[(j / 2) * 32 + r * 2 + j % 2] = static_cast<int16_t>(min);
          }
          for (int c = 0; c < 4; ++c) {
            for (int l = 0; l < 32; ++l) {
              values[64 * c + l] = blk->qs[32 * c + l] & 0xF;
              values[64 * c + 32 + l] = blk->qs[32 * c + l] >> 4;
            }
          }
        }
        ScatterRowQuants(values, 256, r, out + kQuantsAt);
      }
    }
  }

  // Extra dwords: pairs of int16 sums of 32 quants (sub-blocks 2k and 2k+1), the operand of the
  // mins (at most 32 * 128 in size).
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* y = static_cast<const BlockQ8_K*>(a);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      auto* pairs =
          reinterpret_cast<int16_t*>(CopyBlock(y[sb], nsb, sb, static_cast<uint8_t*>(prepared)));
      for (int j = 0; j < 8; ++j) {
        pairs[j] = static_cast<int16_t>(y[sb].bsums[2 * j] + y[sb].bsums[2 * j + 1]);
      }
    }
  }

  // KDotWithMins of cpu_reference_order.h for 16 rows: lane l (quants 4l..4l+3 of each
  // sub-block) sums scale * lane sum over the sub-blocks in integers, then one FMA per
  // super-block; the 4 min lanes likewise; Hsum8 of the lanes plus the pairwise min fold.
  template <int T>
  static void Tile(int64_t n, const uint8_t* strip, const uint8_t* act, int64_t act_stride,
                   float* y, int64_t y_stride, __mmask16 mask) {
    const int64_t nsb = n / 256;
    __m512 acc[T][8], acc_min[T][4];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) acc[t][l] = _mm512_setzero_ps();
#pragma GCC unroll 16
      for (int k = 0; k < 4; ++k) acc_min[t][k] = _mm512_setzero_ps();
    }
    for (int64_t sb = 0; sb < nsb; ++sb) {
      const uint8_t* blk = strip + sb * kBlockBytes;
      __m512i lanes[T][8];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) lanes[t][l] = _mm512_setzero_si512();
      }
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const uint8_t* q = blk + kQuantsAt + j * 8 * 64;
        const __m512i scale = _mm512_load_si512(blk + kScalesAt + j * 64);
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          const __m512i w = _mm512_load_si512(q + l * 64);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const int8_t* a = Quants(act + t * act_stride) + sb * 256 + j * 32;
            const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w,
                                                    _mm512_set1_epi32(Load32(a + l * 4)));
            lanes[t][l] = _mm512_dpwssd_epi32(lanes[t][l], sum, scale);
          }
        }
      }
      const __m512 dw = _mm512_load_ps(blk);
      const __m512 dmin_w = _mm512_load_ps(blk + 64);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const uint8_t* at = act + t * act_stride;
        const float da = Scale(at, nsb, sb);
        const __m512 d = _mm512_mul_ps(_mm512_set1_ps(da), dw);
        const __m512 dmin = _mm512_mul_ps(_mm512_set1_ps(-da), dmin_w);
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          acc[t][l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lanes[t][l]), acc[t][l]);
        }
        const int32_t* pairs = Extra(at, nsb, sb);
#pragma GCC unroll 16
        for (int k = 0; k < 4; ++k) {
          const __m512i m =
              _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_load_si512(blk + kMinsAt + k * 64),
                                  _mm512_set1_epi32(pairs[k]));
          acc_min[t][k] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(m), acc_min[t][k]);
        }
      }
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 m = _mm512_add_ps(_mm512_add_ps(acc_min[t][0], acc_min[t][2]),
                                     _mm512_add_ps(acc_min[t][1], acc_min[t][3]));
      _mm512_mask_storeu_ps(y + t * y_stride, mask, _mm512_add_ps(FoldLanes(acc[t]), m));
    }
  }
};

struct Q6_K : Q8KActivations<64> {
  static constexpr int kTileTokens = 1;
  // Strip super-block: fp32 d of the 16 rows; the 16 sub-block scales (low-half vectors); then
  // 8 chunks of 32 x 8 vectors of quants (0..63, the stored value + 32).
  static constexpr int64_t kScalesAt = 64;
  static constexpr int64_t kQuantsAt = kScalesAt + 16 * 64;
  static constexpr int64_t kBlockBytes = kQuantsAt + 64 * 64;

  static int64_t StripBytes(int64_t n) { return n / 256 * kBlockBytes; }

  static void Pack(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip) {
    const int64_t nsb = n / 256;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      uint8_t* out = strip + sb * kBlockBytes;
      std::memset(out, 0, kQuantsAt);
      auto* d = reinterpret_cast<float*>(out);
      auto* scales = reinterpret_cast<int32_t*>(out + kScalesAt);
      for (int r = 0; r < kRows; ++r) {
        uint8_t values[256] = {};
        if (r < rows) {
          const auto* blk = reinterpret_cast<const BlockQ6_K*>(w + r * w_row_bytes) + sb;
          d[r] = Fp16ToFp32(blk->d);
          for (int s = 0; s < 16; ++s) scales[s * 16 + r] = LowHalfScale(blk->scales[s]);
          for (int h = 0; h < 2; ++h) {
            const uint8_t* ql = blk->ql + 64 * h;
            const uint8_t* qh = blk->qh + 32 * h;
            uint8_t* v = values + 128 * h;
            for (int l = 0; l < 32; ++l) {
              v[l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
              v[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
              v[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
              v[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
          }
        }
        ScatterRowQuants(values, 256, r, out + kQuantsAt);
      }
    }
  }

  // Extra dwords: per group of 4 quants, -32 * their sum (undoes the + 32 of the weights in
  // that lane, so each lane sum is exact and within 16 bits before its scale).
  static void Prepare(int64_t n, const void* a, void* prepared) {
    const int64_t nsb = n / 256;
    const auto* y = static_cast<const BlockQ8_K*>(a);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      int32_t* corrections = CopyBlock(y[sb], nsb, sb, static_cast<uint8_t*>(prepared));
      for (int g = 0; g < 64; ++g) {
        int32_t sum = 0;
        for (int i = 4 * g; i < 4 * g + 4; ++i) sum += y[sb].qs[i];
        corrections[g] = -32 * sum;
      }
    }
  }

  // DotQ6_K of cpu_reference_order.h for 16 rows: lane l of chunk c (32 quants) takes the
  // scale of sub-block 2c + l / 4; integer lanes over the super-block, one FMA, Hsum8.
  template <int T>
  static void Tile(int64_t n, const uint8_t* strip, const uint8_t* act, int64_t act_stride,
                   float* y, int64_t y_stride, __mmask16 mask) {
    const int64_t nsb = n / 256;
    __m512 acc[T][8];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
      for (int l = 0; l < 8; ++l) acc[t][l] = _mm512_setzero_ps();
    }
    for (int64_t sb = 0; sb < nsb; ++sb) {
      const uint8_t* blk = strip + sb * kBlockBytes;
      __m512i lanes[T][8];
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) lanes[t][l] = _mm512_setzero_si512();
      }
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) {
        const uint8_t* q = blk + kQuantsAt + c * 8 * 64;
        const __m512i scale_lo = _mm512_load_si512(blk + kScalesAt + (2 * c) * 64);
        const __m512i scale_hi = _mm512_load_si512(blk + kScalesAt + (2 * c + 1) * 64);
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          const __m512i w = _mm512_load_si512(q + l * 64);
#pragma GCC unroll 16
          for (int t = 0; t < T; ++t) {
            const uint8_t* at = act + t * act_stride;
            const int8_t* a = Quants(at) + sb * 256 + c * 32;
            const int32_t* corr = Extra(at, nsb, sb) + c * 8;
            const __m512i sum = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[l]), w,
                                                    _mm512_set1_epi32(Load32(a + l * 4)));
            lanes[t][l] = _mm512_dpwssd_epi32(lanes[t][l], sum, l < 4 ? scale_lo : scale_hi);
          }
        }
      }
      const __m512 dw = _mm512_load_ps(blk);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const __m512 d = _mm512_mul_ps(_mm512_set1_ps(Scale(act + t * act_stride, nsb, sb)), dw);
#pragma GCC unroll 16
        for (int l = 0; l < 8; ++l) {
          acc[t][l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lanes[t][l]), acc[t][l]);
        }
      }
    }
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride, mask, FoldLanes(acc[t]));
  }
};

// ---- driver ----

template <class Format>
struct Strip {
  using TileFn = void (*)(int64_t, const uint8_t*, const uint8_t*, int64_t, float*, int64_t,
                          __mmask16);

  template <size_t... I>
  static constexpr auto MakeTiles(std::index_sequence<I...>) {
    return std::array<TileFn, sizeof...(I)>{&Format::template Tile<static_cast<int>(I) + 1>...};
  }
  static constexpr auto kTiles = MakeTiles(std::make_index_sequence<Format::kTileTokens>());

  static void Run(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
                  int64_t n_tokens, float* y, int64_t y_stride) {
    const int64_t act_stride = Format::PreparedBytes(n);
    const auto* act = static_cast<const uint8_t*>(prepared);
    uint8_t* strip = StripBuffer(Format::StripBytes(n));
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      const int here = static_cast<int>(std::min<int64_t>(kRows, rows - r0));
      Format::Pack(n, static_cast<const uint8_t*>(w) + r0 * w_row_bytes, w_row_bytes, here, strip);
      const auto mask = static_cast<__mmask16>((1u << here) - 1);
      for (int64_t t0 = 0; t0 < n_tokens; t0 += Format::kTileTokens) {
        const int64_t count = std::min<int64_t>(Format::kTileTokens, n_tokens - t0);
        kTiles[count - 1](n, strip, act + t0 * act_stride, act_stride, y + t0 * y_stride + r0,
                          y_stride, mask);
      }
    }
  }
};

}  // namespace

const parity::QuantGemm kStripQ8_0 = {Q8_0::PreparedBytes, Q8_0::Prepare, Strip<Q8_0>::Run};
const parity::QuantGemm kStripQ4_K = {Q4_K::PreparedBytes, Q4_K::Prepare, Strip<Q4_K>::Run};
const parity::QuantGemm kStripQ6_K = {Q6_K::PreparedBytes, Q6_K::Prepare, Strip<Q6_K>::Run};

}  // namespace r1d::kernels::strip::avx512
