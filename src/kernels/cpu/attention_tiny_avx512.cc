// AVX-512 versions of kernels/attention_tiny.h. One zmm register is one of tinyBLAS's 16-lane
// accumulators, so each product keeps exactly the reference's lanes and operation order; the
// speed comes from sharing loads and conversions between products, not from reordering them.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own intrinsics as uninitialized (a false
// positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/cpu/avx512_helpers_inl.h"
#include "kernels/cpu/cpu_kernels.h"

namespace r1d::kernels::avx512 {
namespace {

// NV vectors x NR rows (rows r .. r + NR): NV * NR accumulators in registers; each step converts
// NR row chunks and NV vector chunks once for NV * NR fused multiply-adds. From element `full`
// on, vector a's lanes at or past valid[a] keep their accumulator (a masked multiply-add).
template <int NV, int NR>
void DotTile(const uint16_t* const* rows, int64_t r, const uint16_t* const* vecs,
             const int64_t* valid, int64_t full, int64_t len, float scale, float* const* out) {
  __m512 acc[NV][NR];
#pragma GCC unroll 4
  for (int a = 0; a < NV; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NR; ++b) acc[a][b] = _mm512_setzero_ps();
  }
  int64_t i = 0;
  for (; i < full; i += 16) {
    __m512 w[NR];
#pragma GCC unroll 4
    for (int b = 0; b < NR; ++b) w[b] = LoadF16(rows[r + b] + i);
#pragma GCC unroll 4
    for (int a = 0; a < NV; ++a) {
      const __m512 v = LoadF16(vecs[a] + i);
#pragma GCC unroll 4
      for (int b = 0; b < NR; ++b) acc[a][b] = _mm512_fmadd_ps(w[b], v, acc[a][b]);
    }
  }
  for (; i < len; i += 16) {
    __m512 w[NR];
#pragma GCC unroll 4
    for (int b = 0; b < NR; ++b) w[b] = LoadF16(rows[r + b] + i);
#pragma GCC unroll 4
    for (int a = 0; a < NV; ++a) {
      const int64_t left = valid[a] - i;
      const auto mask = static_cast<__mmask16>(left >= 16  ? 0xFFFF
                                               : left <= 0 ? 0
                                                           : (1u << left) - 1);
      const __m512 v = LoadF16(vecs[a] + i);
#pragma GCC unroll 4
      for (int b = 0; b < NR; ++b) acc[a][b] = _mm512_mask3_fmadd_ps(w[b], v, acc[a][b], mask);
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < NV; ++a) {
#pragma GCC unroll 4
    for (int b = 0; b < NR; ++b) out[a][r + b] = Hsum16(acc[a][b]) * scale;
  }
}

template <int NV>
void DotsFor(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs,
             const int64_t* valid, int64_t full, int64_t len, float scale, float* const* out) {
  int64_t r = 0;
  for (; r + 4 <= n_rows; r += 4) DotTile<NV, 4>(rows, r, vecs, valid, full, len, scale, out);
  switch (n_rows - r) {
    case 3:
      DotTile<NV, 3>(rows, r, vecs, valid, full, len, scale, out);
      break;
    case 2:
      DotTile<NV, 2>(rows, r, vecs, valid, full, len, scale, out);
      break;
    case 1:
      DotTile<NV, 1>(rows, r, vecs, valid, full, len, scale, out);
      break;
    default:
      break;
  }
}

}  // namespace

void TinyAttentionDots(const uint16_t* const* rows, int64_t n_rows, const uint16_t* const* vecs,
                       const int64_t* valid, int nv, int64_t len, float scale, float* const* out) {
  // Whole 16-element steps that every vector takes in full run unmasked.
  int64_t full = len;
  if (valid != nullptr) {
    for (int a = 0; a < nv; ++a) {
      const int64_t whole = valid[a] < 0 ? 0 : valid[a] / 16 * 16;
      if (whole < full) full = whole;
    }
  }
  switch (nv) {
    case 4:
      DotsFor<4>(rows, n_rows, vecs, valid, full, len, scale, out);
      break;
    case 3:
      DotsFor<3>(rows, n_rows, vecs, valid, full, len, scale, out);
      break;
    case 2:
      DotsFor<2>(rows, n_rows, vecs, valid, full, len, scale, out);
      break;
    case 1:
      DotsFor<1>(rows, n_rows, vecs, valid, full, len, scale, out);
      break;
    default:
      break;
  }
}

}  // namespace r1d::kernels::avx512
