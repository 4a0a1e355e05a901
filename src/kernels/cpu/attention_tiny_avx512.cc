// AVX-512 versions of kernels/attention_tiny.h. One zmm register is one of tinyBLAS's 16-lane
// accumulators, so each product keeps exactly the reference's lanes and operation order; the
// speed comes from sharing loads and conversions between products, not from reordering them.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own intrinsics as uninitialized (a false
// positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.h"

namespace r1d::kernels::avx512 {
namespace {

__m512 LoadF16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
__m512 LoadF16(const uint16_t* p, __mmask16 mask) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
}

// parity::Hsum16 of one register: t[i] = v[i + 8] + v[i], r[i] = t[i + 4] + t[i], then
// (r0 + r2) + (r1 + r3).
float Hsum16(__m512 v) {
  const __m256 t = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(t, 1), _mm256_castps256_ps128(t));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// NQ queries x NK keys (keys j .. j + NK): NQ * NK accumulators in registers; each step converts
// NK key chunks and NQ query chunks once for NQ * NK fused multiply-adds.
template <int NQ, int NK>
void ScoreTile(const uint16_t* const* k_rows, int64_t j, const uint16_t* const* q16, int64_t dk,
               float scale, float* const* scores) {
  __m512 acc[NQ][NK];
#pragma GCC unroll 4
  for (int a = 0; a < NQ; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NK; ++b) acc[a][b] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < dk; i += 16) {
    __m512 k[NK];
#pragma GCC unroll 4
    for (int b = 0; b < NK; ++b) k[b] = LoadF16(k_rows[j + b] + i);
#pragma GCC unroll 4
    for (int a = 0; a < NQ; ++a) {
      const __m512 q = LoadF16(q16[a] + i);
#pragma GCC unroll 4
      for (int b = 0; b < NK; ++b) acc[a][b] = _mm512_fmadd_ps(k[b], q, acc[a][b]);
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < NQ; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NK; ++b) scores[a][j + b] = Hsum16(acc[a][b]) * scale;
  }
}

template <int NQ>
void ScoresFor(const uint16_t* const* k_rows, int64_t n_keys, const uint16_t* const* q16,
               int64_t dk, float scale, float* const* scores) {
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) ScoreTile<NQ, 4>(k_rows, j, q16, dk, scale, scores);
  switch (n_keys - j) {
    case 3:
      ScoreTile<NQ, 3>(k_rows, j, q16, dk, scale, scores);
      break;
    case 2:
      ScoreTile<NQ, 2>(k_rows, j, q16, dk, scale, scores);
      break;
    case 1:
      ScoreTile<NQ, 1>(k_rows, j, q16, dk, scale, scores);
      break;
    default:
      break;
  }
}

// Outputs d0 .. d0 + 16 (the lanes in `mask`): the 16 cell lanes of tinyBLAS are 16 registers,
// cell j feeding register j % 16; their tree sum is then a vertical one across registers.
void WeightedSumChunk(const uint16_t* const* v_rows, const float* p, int64_t n_kv, int64_t d0,
                      __mmask16 mask, float* out) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int l = 0; l < 16; ++l) acc[l] = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n_kv; j += 16) {
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) {
      acc[l] = _mm512_fmadd_ps(LoadF16(v_rows[j + l] + d0, mask), _mm512_set1_ps(p[j + l]), acc[l]);
    }
  }
#pragma GCC unroll 16
  for (int l = 0; l < 16; ++l) {
    if (j + l < n_kv) {
      acc[l] = _mm512_fmadd_ps(LoadF16(v_rows[j + l] + d0, mask), _mm512_set1_ps(p[j + l]), acc[l]);
    }
  }
  __m512 t[8];
#pragma GCC unroll 8
  for (int l = 0; l < 8; ++l) t[l] = _mm512_add_ps(acc[l + 8], acc[l]);
  __m512 r[4];
#pragma GCC unroll 4
  for (int l = 0; l < 4; ++l) r[l] = _mm512_add_ps(t[l + 4], t[l]);
  const __m512 o = _mm512_add_ps(_mm512_add_ps(r[0], r[2]), _mm512_add_ps(r[1], r[3]));
  _mm512_mask_storeu_ps(out + d0, mask, o);
}

}  // namespace

void TinyAttentionScores(const uint16_t* const* k_rows, int64_t n_keys, const uint16_t* const* q16,
                         int nq, int64_t dk, float scale, float* const* scores) {
  switch (nq) {
    case 4:
      ScoresFor<4>(k_rows, n_keys, q16, dk, scale, scores);
      break;
    case 3:
      ScoresFor<3>(k_rows, n_keys, q16, dk, scale, scores);
      break;
    case 2:
      ScoresFor<2>(k_rows, n_keys, q16, dk, scale, scores);
      break;
    case 1:
      ScoresFor<1>(k_rows, n_keys, q16, dk, scale, scores);
      break;
    default:
      break;
  }
}

void TinyAttentionWeightedSum(const uint16_t* const* v_rows, const float* p, int64_t n_kv,
                              int64_t dv, float* out) {
  for (int64_t d0 = 0; d0 < dv; d0 += 16) {
    const int64_t lanes = dv - d0 < 16 ? dv - d0 : 16;
    const auto mask = static_cast<__mmask16>((1u << lanes) - 1);
    WeightedSumChunk(v_rows, p, n_kv, d0, mask, out);
  }
}

}  // namespace r1d::kernels::avx512
