// AVX-512 versions of the single-token (vec_dot order) attention products of
// kernels/attention_vec_dot.h. One zmm register is one of the reference's 16-lane
// accumulators, so every product keeps exactly its lanes and operation order; the speed comes
// from sharing loads and conversions between products and from doing the horizontal sums of
// 16 products at once (their trees stay the same, lane by lane), not from reordering anything.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own intrinsics as uninitialized (a false
// positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/cpu_kernels.h"

namespace r1d::kernels::avx512 {
namespace {

constexpr int kMaxVecs = 8;  // vec_dot_attention::kMaxVectors
// How many rows ahead the score products fetch their cache rows.
constexpr int64_t kPrefetchRows = 16;

__m512 LoadF16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
__m256 LoadF16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// r[j] = parity::Hsum16(v[j]) for 16 registers at once: the reference's tree (lane i + lane
// i + 8, then i + (i + 4), then (0 + 2) + (1 + 3)) applied to every register, each level adding
// the halves of two registers in one instruction.
__m512 Hsum16x16(const __m512 (&v)[16]) {
  __m512 t[8];  // t[p]: the 8-lane sums of v[2p] (lanes 0-7) and v[2p + 1] (lanes 8-15)
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    t[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  __m512 r[4];  // r[m], quarter q: the 4-lane sums of register 4m + q
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {
    r[m] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * m], t[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(t[2 * m], t[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // x[h], quarter q: lanes 0-1 (r0 + r2, r1 + r3) of register 8h + q, lanes 2-3 of 8h + 4 + q.
  __m512 x[2];
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    x[h] = _mm512_add_ps(_mm512_shuffle_ps(r[2 * h], r[2 * h + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(r[2 * h], r[2 * h + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Lane 4q + i: the sum of register 4i + q.
  const __m512 y = _mm512_add_ps(_mm512_shuffle_ps(x[0], x[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(x[0], x[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, y);
}

// The folded 16 lanes of the vec_dot of `row` with NV vectors (as floats) over `np` elements
// (a multiple of 64): accumulator k of the reference takes the elements 16k .. 16k + 15 of
// every 64-element step, and the four are folded (s0 + s2) + (s1 + s3). Accumulators 0 and 2
// run first and are folded before 1 and 3 start, so 8 vectors fit in the registers.
template <int NV>
void FoldedLanes(const uint16_t* row, const float* const* vec32, int64_t np, __m512 (&out)[NV]) {
  auto chain = [&](int k, __m512(&acc)[NV]) {
#pragma GCC unroll 8
    for (int a = 0; a < NV; ++a) acc[a] = _mm512_setzero_ps();
    for (int64_t i = 16 * k; i < np; i += 64) {
      const __m512 w = LoadF16(row + i);
#pragma GCC unroll 8
      for (int a = 0; a < NV; ++a)
        acc[a] = _mm512_fmadd_ps(w, _mm512_loadu_ps(vec32[a] + i), acc[a]);
    }
  };
  __m512 s0[NV], s1[NV];
  chain(0, s0);
  chain(2, s1);
  __m512 even[NV];
#pragma GCC unroll 8
  for (int a = 0; a < NV; ++a) even[a] = _mm512_add_ps(s0[a], s1[a]);
  chain(1, s0);
  chain(3, s1);
#pragma GCC unroll 8
  for (int a = 0; a < NV; ++a) out[a] = _mm512_add_ps(even[a], _mm512_add_ps(s0[a], s1[a]));
}

template <int NV>
void DotRows(const uint16_t* const* rows, int64_t n_rows, const float* const* vec32, int64_t len,
             float scale, float* const* out) {
  const int64_t np = len & ~int64_t{63};
  for (int64_t r0 = 0; r0 < n_rows; r0 += 16) {
    const int n = n_rows - r0 < 16 ? static_cast<int>(n_rows - r0) : 16;
    __m512 folded[NV][16];
    for (int r = 0; r < 16; ++r) {
      __m512 f[NV];
      if (r < n) {
        // The rows are cache cells scattered in blocks: fetch a later row's lines now.
        if (r0 + r + kPrefetchRows < n_rows) {
          const char* ahead = reinterpret_cast<const char*>(rows[r0 + r + kPrefetchRows]);
          for (int64_t b = 0; b < 2 * len; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
        }
        FoldedLanes<NV>(rows[r0 + r], vec32, np, f);
      } else {
#pragma GCC unroll 4
        for (int a = 0; a < NV; ++a) f[a] = _mm512_setzero_ps();
      }
#pragma GCC unroll 4
      for (int a = 0; a < NV; ++a) folded[a][r] = f[a];
    }
#pragma GCC unroll 4
    for (int a = 0; a < NV; ++a) {
      alignas(64) float lanes[16];
      _mm512_store_ps(lanes, Hsum16x16(folded[a]));
      for (int r = 0; r < n; ++r) {
        float dot = lanes[r];
        if (np < len) {
          // The elements past the last whole step, one by one in double (as the reference).
          double acc = dot;
          const uint16_t* row = rows[r0 + r];
          for (int64_t k = np; k < len; ++k) {
            acc += static_cast<double>(_cvtsh_ss(row[k]) * vec32[a][k]);
          }
          dot = static_cast<float>(acc);
        }
        out[a][r0 + r] = dot * scale;
      }
    }
  }
}

// Lane rows m of the value product for H weight vectors and C 16-output chunks from output
// `d0`: row m of vector h is the FMA chain over the cells m, m + 64, ... (< n_simd) of
// V_j[d] * p_h[j], started from zero, as the reference's 64 accumulators. Each row chain keeps
// all H * C sums in registers, so every cell's values are read once for all the vectors.
template <int H, int C>
void LaneRows(const float* const* p32, int64_t n_simd, const uint16_t* const* v_rows, int64_t d0,
              int64_t dv, float* const* acc) {
  const int64_t n_rows = n_simd < 64 ? n_simd : 64;
  for (int64_t m = 0; m < n_rows; ++m) {
    __m512 s[H][C];
#pragma GCC unroll 8
    for (int h = 0; h < H; ++h) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) s[h][c] = _mm512_setzero_ps();
    }
    for (int64_t j = m; j < n_simd; j += 64) {
      const uint16_t* v = v_rows[j] + d0;
      // The next row chain reads the neighbouring cells: fetch them while this one runs.
      if (j + 1 < n_simd) {
        const char* next = reinterpret_cast<const char*>(v_rows[j + 1] + d0);
#pragma GCC unroll 4
        for (int b = 0; b < 32 * C; b += 64) _mm_prefetch(next + b, _MM_HINT_T0);
      }
      __m512 w[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) w[c] = LoadF16(v + 16 * c);
#pragma GCC unroll 8
      for (int h = 0; h < H; ++h) {
        const __m512 p = _mm512_set1_ps(p32[h][j]);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) s[h][c] = _mm512_fmadd_ps(w[c], p, s[h][c]);
      }
    }
#pragma GCC unroll 8
    for (int h = 0; h < H; ++h) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) _mm512_storeu_ps(acc[h] + m * dv + d0 + 16 * c, s[h][c]);
    }
  }
}

using LaneRowsFn = void (*)(const float* const*, int64_t, const uint16_t* const*, int64_t, int64_t,
                            float* const*);

// The most chunks a pass of H vectors takes: H * C sums in registers, at most 24.
constexpr int MaxChunks(int h) { return 24 / h < 4 ? 24 / h : 4; }

// kLaneRows[h - 1][c - 1]: the pass of h vectors over c chunks (null past MaxChunks(h)).
constexpr LaneRowsFn kLaneRows[8][4] = {
    {LaneRows<1, 1>, LaneRows<1, 2>, LaneRows<1, 3>, LaneRows<1, 4>},
    {LaneRows<2, 1>, LaneRows<2, 2>, LaneRows<2, 3>, LaneRows<2, 4>},
    {LaneRows<3, 1>, LaneRows<3, 2>, LaneRows<3, 3>, LaneRows<3, 4>},
    {LaneRows<4, 1>, LaneRows<4, 2>, LaneRows<4, 3>, LaneRows<4, 4>},
    {LaneRows<5, 1>, LaneRows<5, 2>, LaneRows<5, 3>, LaneRows<5, 4>},
    {LaneRows<6, 1>, LaneRows<6, 2>, LaneRows<6, 3>, LaneRows<6, 4>},
    {LaneRows<7, 1>, LaneRows<7, 2>, LaneRows<7, 3>, nullptr},
    {LaneRows<8, 1>, LaneRows<8, 2>, LaneRows<8, 3>, nullptr},
};

// out = the vec_dot-order value product of one weight vector from its 64 lane rows (acc, rows
// past n_simd zero) and the cells [n_simd, n_kv) added one by one in double.
void FoldLaneRows(const float* acc, const uint16_t* p16, int64_t n_simd, int64_t n_kv,
                  const uint16_t* const* v_rows, int64_t dv, float* out) {
  for (int64_t d = 0; d < dv; d += 16) {
    // lane[l] = (s_l + s_{32+l}) + (s_{16+l} + s_{48+l}), then the Hsum16 tree over l, for 16
    // outputs at once.
    __m512 lane[16];
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) {
      const float* a = acc + d;
      lane[l] = _mm512_add_ps(
          _mm512_add_ps(_mm512_loadu_ps(a + l * dv), _mm512_loadu_ps(a + (32 + l) * dv)),
          _mm512_add_ps(_mm512_loadu_ps(a + (16 + l) * dv), _mm512_loadu_ps(a + (48 + l) * dv)));
    }
    __m512 t[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) t[i] = _mm512_add_ps(lane[i + 8], lane[i]);
    __m512 r[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) r[i] = _mm512_add_ps(t[i + 4], t[i]);
    const __m512 fold = _mm512_add_ps(_mm512_add_ps(r[0], r[2]), _mm512_add_ps(r[1], r[3]));
    __m512d s_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(fold));
    __m512d s_hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(fold, 1));
    for (int64_t j = n_simd; j < n_kv; ++j) {
      const __m256 p = _mm256_set1_ps(_cvtsh_ss(p16[j]));
      const uint16_t* v = v_rows[j] + d;
      s_lo = _mm512_add_pd(s_lo, _mm512_cvtps_pd(_mm256_mul_ps(LoadF16x8(v), p)));
      s_hi = _mm512_add_pd(s_hi, _mm512_cvtps_pd(_mm256_mul_ps(LoadF16x8(v + 8), p)));
    }
    _mm256_storeu_ps(out + d, _mm512_cvtpd_ps(s_lo));
    _mm256_storeu_ps(out + d + 8, _mm512_cvtpd_ps(s_hi));
  }
}

}  // namespace

void VecDotRowsF16(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs, int nv,
                   int64_t len, float scale, float* const* out, float* scratch) {
  // The vectors as floats (exact), read by every row.
  const int64_t stride = (len + 15) / 16 * 16;
  const float* vec32[kMaxVecs];
  for (int a = 0; a < nv; ++a) {
    float* v = scratch + a * stride;
    int64_t i = 0;
    for (; i + 16 <= len; i += 16) _mm512_storeu_ps(v + i, LoadF16(vecs[a] + i));
    for (; i < len; ++i) v[i] = _cvtsh_ss(vecs[a][i]);
    vec32[a] = v;
  }
  using Fn =
      void (*)(const uint16_t* const*, int64_t, const float* const*, int64_t, float, float* const*);
  static constexpr Fn kByCount[kMaxVecs] = {DotRows<1>, DotRows<2>, DotRows<3>, DotRows<4>,
                                            DotRows<5>, DotRows<6>, DotRows<7>, DotRows<8>};
  if (nv >= 1 && nv <= kMaxVecs) kByCount[nv - 1](rows, n_rows, vec32, len, scale, out);
}

void WeightedSumsF16VecDot(const uint16_t* const* p16, int nv, int64_t n_kv, int64_t n_kv_pad,
                           const uint16_t* const* v_rows, int64_t dv, float* acc, float* const* out,
                           float* scratch) {
  // Cells [0, n_simd) go through the 64 lane rows, the rest in double after the fold.
  const int64_t n_simd = n_kv < (n_kv_pad & ~int64_t{63}) ? n_kv : (n_kv_pad & ~int64_t{63});
  const float* p32[kMaxVecs];
  float* lane_rows[kMaxVecs];
  for (int a = 0; a < nv; ++a) {
    float* w = scratch + a * n_simd;
    for (int64_t j = 0; j < n_simd; ++j) w[j] = _cvtsh_ss(p16[a][j]);
    p32[a] = w;
    lane_rows[a] = acc + a * 64 * dv;
    for (int64_t m = n_simd; m < 64; ++m) {
      for (int64_t d = 0; d < dv; d += 16)
        _mm512_storeu_ps(lane_rows[a] + m * dv + d, _mm512_setzero_ps());
    }
  }
  const int max_chunks = MaxChunks(nv);
  for (int64_t d0 = 0; d0 < dv; d0 += 16 * max_chunks) {
    const int64_t left = (dv - d0) / 16;
    const int c = left < max_chunks ? static_cast<int>(left) : max_chunks;
    kLaneRows[nv - 1][c - 1](p32, n_simd, v_rows, d0, dv, lane_rows);
  }
  for (int a = 0; a < nv; ++a) FoldLaneRows(lane_rows[a], p16[a], n_simd, n_kv, v_rows, dv, out[a]);
}

}  // namespace r1d::kernels::avx512
