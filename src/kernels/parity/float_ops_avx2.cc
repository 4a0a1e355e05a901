// AVX2 + FMA + F16C versions of the llama.cpp-order float kernels (see cpu_reference_order.h). The
// emulated order is that of 16-lane AVX-512 code; here each 16-lane accumulator is a pair of
// 8-lane registers holding lanes 0-7 and 8-15, and every lane sees the same operations in the
// same order as in the portable emulation, so the bits are identical.
// Intrinsics only: no inline functions shared with scalar translation units.
#include <immintrin.h>

#include <cstdint>

#include "kernels/parity/quant_dot_x86.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::parity::avx2 {
namespace {

float Fma(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}
float Mul(float a, float b) { return _mm_cvtss_f32(_mm_mul_ss(_mm_set_ss(a), _mm_set_ss(b))); }

// Hsum8 of cpu_reference_order.cc: high half + low half, then (0 + 2) + (1 + 3).
float Hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}
// Hsum16 of lanes 0-7 (lo) and 8-15 (hi): t[i] = v[i + 8] + v[i], then Hsum8(t).
float Hsum16(__m256 lo, __m256 hi) { return Hsum8(_mm256_add_ps(hi, lo)); }

// Loads 8 elements as floats.
__m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
__m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
float Load1(const uint16_t* p) { return _cvtsh_ss(*p); }

// VecDotFloat of cpu_reference_order.cc: 4 x 16 lanes per 64 elements, folded (0+2)+(1+3), Hsum16;
// the tail in double (F16) or with float FMAs (F32).
template <class T>
float VecDotFloat(const T* x, const T* y, int64_t n) {
  __m256 s[8];
  for (__m256& v : s) v = _mm256_setzero_ps();
  const int64_t np = n & ~int64_t{63};
  for (int64_t i = 0; i < np; i += 64) {
    for (int k = 0; k < 8; ++k) {
      s[k] = _mm256_fmadd_ps(Load8(x + i + 8 * k), Load8(y + i + 8 * k), s[k]);
    }
  }
  // s[2j] / s[2j + 1]: lanes 0-7 / 8-15 of accumulator j.
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(s[0], s[4]), _mm256_add_ps(s[2], s[6]));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(s[1], s[5]), _mm256_add_ps(s[3], s[7]));
  const float lanes = Hsum16(lo, hi);
  if constexpr (sizeof(T) == 2) {
    double acc = lanes;
    for (int64_t k = np; k < n; ++k) acc += static_cast<double>(Mul(Load1(x + k), Load1(y + k)));
    return static_cast<float>(acc);
  } else {
    float acc = lanes;
    for (int64_t k = np; k < n; ++k) acc = Fma(x[k], y[k], acc);
    return acc;
  }
}

template <class T>
float TinyBlasFloat(const T* x, const T* y, int64_t n) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    lo = _mm256_fmadd_ps(Load8(x + i), Load8(y + i), lo);
    hi = _mm256_fmadd_ps(Load8(x + i + 8), Load8(y + i + 8), hi);
  }
  return Hsum16(lo, hi);
}

// ggml_v_expf as VExpf in cpu_reference_order.cc, 8 lanes at a time. The final scaling by 2^n is
// a plain multiplication when the result is a normal float (n in [-125, 126], since the
// polynomial is within [0.7, 1.5)); other vectors go through the portable formula lane by lane.
// Returns false (and leaves out alone) in that case.
bool Exp8(__m256 x, __m256* out) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 in_range = _mm256_and_ps(_mm256_cmp_ps(n, _mm256_set1_ps(-125.0f), _CMP_GE_OQ),
                                        _mm256_cmp_ps(n, _mm256_set1_ps(126.0f), _CMP_LE_OQ));
  if (_mm256_movemask_ps(in_range) != 0xFF) return false;
  // fma(-n, c, x) == fnmadd(n, c, x): negating a factor is exact.
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 p4 =
      _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f));
  const __m256 p2 =
      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f));
  const __m256 p0 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f));
  const __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(p4, u, p2), u, p0);
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  *out = _mm256_mul_ps(j, _mm256_castsi256_ps(e));
  return true;
}

}  // namespace

float VecDotF16(const uint16_t* x, const uint16_t* y, int64_t n) { return VecDotFloat(x, y, n); }
float VecDotF32(const float* x, const float* y, int64_t n) { return VecDotFloat(x, y, n); }
float TinyBlasDotF16(const uint16_t* x, const uint16_t* y, int64_t n) {
  return TinyBlasFloat(x, y, n);
}
float TinyBlasDotF32(const float* x, const float* y, int64_t n) { return TinyBlasFloat(x, y, n); }

void FmaF16Row(float* acc, const uint16_t* v, float p, int64_t n) {
  const __m256 pv = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(Load8(v + i), pv, _mm256_loadu_ps(acc + i)));
  }
  for (; i < n; ++i) acc[i] = Fma(_cvtsh_ss(v[i]), p, acc[i]);
}

float MaxRow(const float* x, int64_t n) {
  // Per lane the loop's rule (a NaN in x never replaces the maximum), then the lanes likewise.
  __m256 m = _mm256_set1_ps(-__builtin_inff());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    m = _mm256_blendv_ps(m, v, _mm256_cmp_ps(m, v, _CMP_LT_OQ));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float max = lanes[0];
  for (int l = 1; l < 8; ++l) max = max < lanes[l] ? lanes[l] : max;
  for (; i < n; ++i) max = max < x[i] ? x[i] : max;
  return max;
}

double ChunkSums16(const float* x, int64_t n) {
  double sum = 0;
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    sum += static_cast<double>(Hsum16(_mm256_loadu_ps(x + c), _mm256_loadu_ps(x + c + 8)));
  }
  if (c < n) {
    alignas(32) float chunk[16] = {};
    for (int64_t l = 0; c + l < n; ++l) chunk[l] = x[c + l];
    sum += static_cast<double>(Hsum16(_mm256_load_ps(chunk), _mm256_load_ps(chunk + 8)));
  }
  return sum;
}

void ExpRow(float* x, float sub, int64_t n, float (*scalar_exp)(float)) {
  const __m256 s = _mm256_set1_ps(sub);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e;
    if (Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s), &e)) {
      _mm256_storeu_ps(x + i, e);
    } else {
      for (int64_t k = i; k < i + 8; ++k) x[k] = scalar_exp(x[k] - sub);
    }
  }
  for (; i < n; ++i) x[i] = scalar_exp(x[i] - sub);
}

void SiluMulRow(const float* gate, const float* up, int64_t n, float* out,
                float (*scalar_silu)(float)) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    __m256 e;
    if (Exp8(_mm256_sub_ps(_mm256_setzero_ps(), g), &e)) {
      const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    } else {
      for (int64_t k = i; k < i + 8; ++k) out[k] = Mul(scalar_silu(gate[k]), up[k]);
    }
  }
  for (; i < n; ++i) out[i] = Mul(scalar_silu(gate[i]), up[i]);
}

void QuantizeRowQ8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<tensor::BlockQ8_0*>(dst);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* x = src + 32 * b;
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      m = _mm256_max_ps(m, _mm256_and_ps(v[k], abs_mask));
    }
    // The maximum is exact whatever the order.
    __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float amax = _mm_cvtss_f32(h);
    const float d = _mm_cvtss_f32(_mm_div_ss(_mm_set_ss(amax), _mm_set_ss(127.0f)));
    y[b].d = static_cast<uint16_t>(
        _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(d), _MM_FROUND_TO_NEAREST_INT), 0));
    const float id =
        amax != 0.0f ? _mm_cvtss_f32(_mm_div_ss(_mm_set_ss(127.0f), _mm_set_ss(amax))) : 0.0f;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
      q[k] = _mm256_cvtps_epi32(
          _mm256_round_ps(_mm256_mul_ps(v[k], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // Packing interleaves the 128-bit halves; the permute restores element order.
    const __m256i q01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i q23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q01, q23),
                                                      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), bytes);
  }
}

}  // namespace r1d::kernels::parity::avx2
