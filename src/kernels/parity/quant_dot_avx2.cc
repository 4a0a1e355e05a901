// AVX2 + FMA + F16C versions of the llama.cpp-order quantized dot products (see
// cpu_reference_order.h). They compute the same integer lane sums and the same single-accumulator
// FMA chain as the portable emulation, so the results are bit-identical; only faster.
// Intrinsics only: no inline functions shared with scalar translation units.
#include <immintrin.h>

#include <cstdint>

#include "kernels/parity/quant_dot_x86.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::parity::avx2 {
namespace {

// The pairwise lane sum of the x86 kernels: high half + low half, then (0+2) + (1+3).
float HsumLanes(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// 8 int32 lanes; lane l = sum of x[e] * y[e] for e in [4l, 4l + 4). Exact for quants in
// [-127, 127] (no 16-bit saturation).
__m256i LaneSums(__m256i x, __m256i y) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

__m256i Load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// A scalar fused multiply-add (std::fma is an inline library wrapper: kept out of this file so
// that no AVX2-compiled copy of a shared inline function can be picked by the linker).
float Fma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

// 8 int32 lanes from 32 unsigned quants (< 64) times 32 signed activations, each lane the sum
// of 4 products; the pair sums (at most 63 * 128 * 2) fit int16 without saturation.
__m256i UnsignedLaneSums(__m256i q, __m256i y) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), _mm256_set1_epi16(1));
}

// Q4_K / Q5_K 6-bit scales and mins of the 8 sub-blocks (same unpacking as the portable code).
// Inlined: called once per super-block, the call overhead is a tenth of the kernel.
[[gnu::always_inline]] inline void ScalesMinsK(const uint8_t* s, int* sc, int* mn) {
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

// The 4 integer min lanes of a Q4_K/Q5_K super-block: lane k covers sub-blocks 2k and 2k+1.
[[gnu::always_inline]] inline __m128i MinLanes(const int* mn, const int16_t* bs) {
  int32_t m4[4];
  for (int k = 0; k < 4; ++k) {
    m4[k] =
        mn[2 * k] * (bs[4 * k] + bs[4 * k + 1]) + mn[2 * k + 1] * (bs[4 * k + 2] + bs[4 * k + 3]);
  }
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(m4));
}

// The 32 quants of a Q4_0/Q5_0 block as bytes: low nibbles (elements 0-15), then high ones.
__m256i Nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both =
      _mm256_insertf128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0xF));
}

}  // namespace

float DotQ8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ8_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = _cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d);
    const __m256i s = LaneSums(Load(x[b].qs), Load(y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(s), acc);
  }
  return HsumLanes(acc);
}

float DotQ4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ4_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = _cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d);
    const __m256i q = _mm256_sub_epi8(Nibbles(x[b].qs), _mm256_set1_epi8(8));
    const __m256i s = LaneSums(q, Load(y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(s), acc);
  }
  return HsumLanes(acc);
}

float DotQ5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ5_0*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_0*>(a);
  // Byte e of the spread gets byte e / 8 of qh; the bit mask then picks bit e % 8.
  const __m256i spread =
      _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = _cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d);
    int32_t qh;
    __builtin_memcpy(&qh, x[b].qh, 4);
    const __m256i hb = _mm256_shuffle_epi8(_mm256_set1_epi32(qh), spread);
    const __m256i high =
        _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hb, bit), bit), _mm256_set1_epi8(16));
    const __m256i q =
        _mm256_sub_epi8(_mm256_or_si256(Nibbles(x[b].qs), high), _mm256_set1_epi8(16));
    const __m256i s = LaneSums(q, Load(y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(s), acc);
  }
  return HsumLanes(acc);
}

namespace {

// Q4_K (scalar_mins = false) and Q5_K (true); see KDotWithMins in cpu_reference_order.cc.
template <bool kFifthBit, class BW>
float KDotWithMins(int64_t n, const void* w, const void* a) {
  const BW* x = static_cast<const BW*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_K*>(a);
  const __m256i low = _mm256_set1_epi8(0xF);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  float summs = 0;
  for (int64_t b = 0; b < n / tensor::kQK_K; ++b) {
    const float d = y[b].d * _cvtsh_ss(x[b].d);
    const float dmin = -y[b].d * _cvtsh_ss(x[b].dmin);
    int sc[8], mn[8];
    ScalesMinsK(x[b].scales, sc, mn);
    __m256i lanes = _mm256_setzero_si256();
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFifthBit) qh = Load(x[b].qh);
    for (int j = 0; j < 4; ++j) {
      const __m256i packed = Load(x[b].qs + 32 * j);
      __m256i q0 = _mm256_and_si256(packed, low);
      __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
      if constexpr (kFifthBit) {
        const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one);
        const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one);
        q0 = _mm256_or_si256(q0, _mm256_slli_epi16(h0, 4));
        q1 = _mm256_or_si256(q1, _mm256_slli_epi16(h1, 4));
      }
      const __m256i s0 = UnsignedLaneSums(q0, Load(y[b].qs + 64 * j));
      const __m256i s1 = UnsignedLaneSums(q1, Load(y[b].qs + 64 * j + 32));
      lanes = _mm256_add_epi32(lanes, _mm256_mullo_epi32(s0, _mm256_set1_epi32(sc[2 * j])));
      lanes = _mm256_add_epi32(lanes, _mm256_mullo_epi32(s1, _mm256_set1_epi32(sc[2 * j + 1])));
    }
    const __m128i m4 = MinLanes(mn, y[b].bsums);
    if constexpr (kFifthBit) {
      int32_t m[4];
      _mm_storeu_si128(reinterpret_cast<__m128i*>(m), m4);
      summs = Fma(dmin, static_cast<float>(m[0] + m[1] + m[2] + m[3]), summs);
    } else {
      acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(m4), acc_m);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes), acc);
  }
  if constexpr (kFifthBit) {
    return HsumLanes(acc) + summs;
  } else {
    // (m0 + m2) + (m1 + m3)
    __m128 r = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return HsumLanes(acc) + _mm_cvtss_f32(r);
  }
}

}  // namespace

float DotQ4_K(int64_t n, const void* w, const void* a) {
  return KDotWithMins<false, tensor::BlockQ4_K>(n, w, a);
}

float DotQ5_K(int64_t n, const void* w, const void* a) {
  return KDotWithMins<true, tensor::BlockQ5_K>(n, w, a);
}

float DotQ6_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const tensor::BlockQ6_K*>(w);
  const auto* y = static_cast<const tensor::BlockQ8_K*>(a);
  const __m256i low = _mm256_set1_epi8(0xF);
  const __m256i three = _mm256_set1_epi8(3);
  const __m256i k32 = _mm256_set1_epi8(32);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / tensor::kQK_K; ++b) {
    const float d = y[b].d * _cvtsh_ss(x[b].d);
    __m256i lanes = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = Load(x[b].ql + 64 * h);
      const __m256i ql1 = Load(x[b].ql + 64 * h + 32);
      const __m256i qh = Load(x[b].qh + 32 * h);
      // The quants plus 32 (0..63), so that maddubs can take them as unsigned.
      __m256i q[4];
      q[0] = _mm256_and_si256(ql0, low);
      q[1] = _mm256_and_si256(ql1, low);
      q[2] = _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low);
      q[3] = _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low);
      for (int k = 0; k < 4; ++k) {
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), three);
        q[k] = _mm256_or_si256(q[k], _mm256_slli_epi16(hi, 4));
        const int g = 4 * h + k;
        const __m256i yv = Load(y[b].qs + 32 * g);
        // (q + 32) * y - 32 * y per pair of elements: exact in int16 (|.| <= 8192).
        const __m256i pairs =
            _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], yv), _mm256_maddubs_epi16(k32, yv));
        // Elements 0-15 (int16 lanes 0-7) use scale 2g, elements 16-31 scale 2g + 1.
        const __m256i scale = _mm256_setr_m128i(_mm_set1_epi16(x[b].scales[2 * g]),
                                                _mm_set1_epi16(x[b].scales[2 * g + 1]));
        lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16(pairs, scale));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes), acc);
  }
  return HsumLanes(acc);
}

}  // namespace r1d::kernels::parity::avx2
