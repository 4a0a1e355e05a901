// AVX-512 versions of the float-weight products of kernels/float_gemm.h (BF16: AVX512_BF16). One
// zmm register is one of the reference's 16-lane accumulators, so each output keeps exactly its
// lanes and operation order (a fused multiply-add per lane and step, then the same fold and tree
// sum). What the tiles share: a weight row's loaded and converted chunk between the tile's tokens,
// an activation chunk between its rows.
#include <immintrin.h>

// GCC 12 reports the undefined upper halves inside its own intrinsics as uninitialized (a false
// positive of the intrinsic headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The only multiply-adds are the explicit ones: the reference rounds the tail's products and
// sums separately.
#pragma GCC optimize("fp-contract=off")

#include <cmath>
#include <cstring>

#include "kernels/cpu/avx512_helpers_inl.h"
#include "kernels/float_gemm.h"

namespace r1d::kernels::avx512 {
namespace {

// Prepared activations: each row as F32, padded to 64 bytes (rows 64-byte aligned).
int64_t PreparedRowBytes(int64_t n) { return (n * 4 + 63) / 64 * 64; }

void PrepareF16(int64_t n, const void* a, void* prepared) {
  const auto* h = static_cast<const uint16_t*>(a);
  auto* out = static_cast<float*>(prepared);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_store_ps(out + i,
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  }
  for (; i < n; ++i) out[i] = _cvtsh_ss(h[i]);
}

void PrepareF32(int64_t n, const void* a, void* prepared) {
  std::memcpy(prepared, a, static_cast<size_t>(n) * 4);
}

// BF16 weights (CPUs with AVX512_BF16 only): the activations stay BF16, as llama.cpp converts
// them, each row padded to 64 bytes.
int64_t PreparedRowBytesBf16(int64_t n) { return (n * 2 + 63) / 64 * 64; }

void PrepareBf16(int64_t n, const void* a, void* prepared) {
  std::memcpy(prepared, a, static_cast<size_t>(n) * 2);
}

[[gnu::always_inline]] inline __m512bh LoadBf16x32(const uint16_t* p) {
  return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
}

[[gnu::always_inline]] inline __m512 Load16(const uint16_t* p) { return LoadF16(p); }
[[gnu::always_inline]] inline __m512 Load16(const float* p) { return _mm512_loadu_ps(p); }
inline float ToFloat(uint16_t h) { return _cvtsh_ss(h); }
inline float ToFloat(float f) { return f; }

// ---- tinyBLAS order: y = Hsum16 of one accumulator, one multiply-add step per kStep elements
// (F16/F32: an FMA per 16; BF16: a vdpbf16ps per 32) ----

constexpr int kTinyRows = 4;    // rows of a tile (their converted chunks stay in registers)
constexpr int kTinyTokens = 6;  // tokens of a tile: 24 accumulators

// The tinyBLAS step of each weight type: how its weight and prepared-activation chunks load,
// and the multiply-add of one chunk into a 16-lane accumulator.
template <class W>
struct FmaStep {  // F16 or F32 weights, F32 activations
  using Weight = W;
  using Act = float;
  using Chunk = __m512;
  static constexpr int kStep = 16;
  [[gnu::always_inline]] static Chunk LoadWeights(const W* p) { return Load16(p); }
  [[gnu::always_inline]] static Chunk LoadActs(const float* p) { return _mm512_load_ps(p); }
  [[gnu::always_inline]] static __m512 Madd(__m512 acc, Chunk w, Chunk a) {
    return _mm512_fmadd_ps(w, a, acc);
  }
};
struct Bf16Step {  // BF16 weights and activations (AVX512_BF16)
  using Weight = uint16_t;
  using Act = uint16_t;
  using Chunk = __m512bh;
  static constexpr int kStep = 32;
  [[gnu::always_inline]] static Chunk LoadWeights(const uint16_t* p) { return LoadBf16x32(p); }
  [[gnu::always_inline]] static Chunk LoadActs(const uint16_t* p) { return LoadBf16x32(p); }
  [[gnu::always_inline]] static __m512 Madd(__m512 acc, Chunk w, Chunk a) {
    return _mm512_dpbf16_ps(acc, w, a);
  }
};

// NR rows x NT tokens; strides in elements, n % kStep == 0.
template <class S, int NR, int NT>
void TinyTile(int64_t n, const typename S::Weight* w, int64_t w_stride, const typename S::Act* a,
              int64_t a_stride, float* y, int64_t y_stride) {
  __m512 acc[NT][NR];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) acc[t][r] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < n; i += S::kStep) {
    typename S::Chunk wv[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) wv[r] = S::LoadWeights(w + r * w_stride + i);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const typename S::Chunk v = S::LoadActs(a + t * a_stride + i);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) acc[t][r] = S::Madd(acc[t][r], wv[r], v);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) y[t * y_stride + r] = Hsum16(acc[t][r]);
  }
}

template <class S>
using TinyFn = void (*)(int64_t, const typename S::Weight*, int64_t, const typename S::Act*,
                        int64_t, float*, int64_t);

template <class S, int NR>
constexpr TinyFn<S> kTinyByTokens[kTinyTokens] = {TinyTile<S, NR, 1>, TinyTile<S, NR, 2>,
                                                  TinyTile<S, NR, 3>, TinyTile<S, NR, 4>,
                                                  TinyTile<S, NR, 5>, TinyTile<S, NR, 6>};

// ActRowBytes: the prepared activation row (PreparedRowBytes or PreparedRowBytesBf16).
template <class S, int64_t (*ActRowBytes)(int64_t)>
void RunTiny(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
             int64_t n_tokens, float* y, int64_t y_stride) {
  static constexpr const TinyFn<S>* kTiles[kTinyRows] = {kTinyByTokens<S, 1>, kTinyByTokens<S, 2>,
                                                         kTinyByTokens<S, 3>, kTinyByTokens<S, 4>};
  using W = typename S::Weight;
  using A = typename S::Act;
  const int64_t w_stride = w_row_bytes / static_cast<int64_t>(sizeof(W));
  const int64_t a_stride = ActRowBytes(n) / static_cast<int64_t>(sizeof(A));
  const auto* wt = static_cast<const W*>(w);
  const auto* at = static_cast<const A*>(prepared);
  // Token tiles outside: a tile's activations (NT rows) stay in cache for all the rows.
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTinyTokens) {
    const int64_t nt = n_tokens - t0 < kTinyTokens ? n_tokens - t0 : kTinyTokens;
    for (int64_t r0 = 0; r0 < rows; r0 += kTinyRows) {
      const int64_t nr = rows - r0 < kTinyRows ? rows - r0 : kTinyRows;
      kTiles[nr - 1][nt - 1](n, wt + r0 * w_stride, w_stride, at + t0 * a_stride, a_stride,
                             y + t0 * y_stride + r0, y_stride);
    }
  }
}

// ---- vec_dot order: accumulator k takes elements 16k.. of every 64-element step; folded
// (s0 + s2) + (s1 + s3), Hsum16, then the rest one by one (in double for F16) ----

constexpr int kVecRows = 4;  // the most rows read at once: 16 independent accumulators

// Rows read at once. One token (decode) streams the rows one after another: 4 rows read side
// by side (4 streams 1 row apart) decoded the 1.5B F16 and BF16 files ~20% slower on a Zen 4
// VM (bench/RESULTS.md, 2026-12-08). Several tokens share each activation load between 4 rows.
inline int64_t VecRowsAtOnce(int64_t n_tokens) { return n_tokens == 1 ? 1 : kVecRows; }

template <class W, int NR>
void VecRows(int64_t n, const W* w, int64_t w_stride, const float* a, float* y) {
  const int64_t np = n & ~int64_t{63};
  __m512 acc[NR][4];
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) acc[r][k] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < np; i += 64) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512 v = _mm512_load_ps(a + i + 16 * k);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r)
        acc[r][k] = _mm512_fmadd_ps(Load16(w + r * w_stride + i + 16 * k), v, acc[r][k]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) {
    const float s = Hsum16(
        _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][2]), _mm512_add_ps(acc[r][1], acc[r][3])));
    const W* row = w + r * w_stride;
    if constexpr (sizeof(W) == 2) {
      double sum = s;
      for (int64_t k = np; k < n; ++k) sum += static_cast<double>(ToFloat(row[k]) * a[k]);
      y[r] = static_cast<float>(sum);
    } else {
      float sum = s;
      for (int64_t k = np; k < n; ++k) sum = std::fma(ToFloat(row[k]), a[k], sum);
      y[r] = sum;
    }
  }
}

template <class W, class A>
using VecRowsFn = void (*)(int64_t, const W*, int64_t, const A*, float*);

// The vec_dot tiles over every token and row: by_rows[k] reads k + 1 rows at once.
template <class W, class A>
void RunVecRows(const VecRowsFn<W, A> (&by_rows)[kVecRows], int64_t act_row_bytes, int64_t n,
                const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
                int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t w_stride = w_row_bytes / static_cast<int64_t>(sizeof(W));
  const int64_t a_stride = act_row_bytes / static_cast<int64_t>(sizeof(A));
  const auto* wt = static_cast<const W*>(w);
  const auto* at = static_cast<const A*>(prepared);
  const int64_t step = VecRowsAtOnce(n_tokens);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r0 = 0; r0 < rows; r0 += step) {
      const int64_t nr = rows - r0 < step ? rows - r0 : step;
      by_rows[nr - 1](n, wt + r0 * w_stride, w_stride, at + t * a_stride, y + t * y_stride + r0);
    }
  }
}

template <class W>
void RunVec(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
            int64_t n_tokens, float* y, int64_t y_stride) {
  static constexpr VecRowsFn<W, float> kByRows[kVecRows] = {VecRows<W, 1>, VecRows<W, 2>,
                                                            VecRows<W, 3>, VecRows<W, 4>};
  RunVecRows(kByRows, PreparedRowBytes(n), n, w, w_row_bytes, rows, prepared, n_tokens, y,
             y_stride);
}

// ---- BF16 vec_dot order, as llama.cpp's build for AVX512_BF16 CPUs (parity::VecDotBF16Dp):
// vdpbf16ps, accumulator k taking elements 32k.. of every 64-element step; each tree-summed
// and added in double, then the rest one by one in double ----
template <int NR>
void VecRowsBf16(int64_t n, const uint16_t* w, int64_t w_stride, const uint16_t* a, float* y) {
#pragma GCC unroll 4
  for (int r = 0; r < NR; ++r) y[r] = DotBf16VecOrder(w + r * w_stride, a, n);
}

void RunVecBf16(int64_t n, const void* w, int64_t w_row_bytes, int64_t rows, const void* prepared,
                int64_t n_tokens, float* y, int64_t y_stride) {
  static constexpr VecRowsFn<uint16_t, uint16_t> kByRows[kVecRows] = {
      VecRowsBf16<1>, VecRowsBf16<2>, VecRowsBf16<3>, VecRowsBf16<4>};
  RunVecRows(kByRows, PreparedRowBytesBf16(n), n, w, w_row_bytes, rows, prepared, n_tokens, y,
             y_stride);
}

}  // namespace

const parity::QuantGemm kGemmBF16Tiny = {PreparedRowBytesBf16, PrepareBf16,
                                         RunTiny<Bf16Step, PreparedRowBytesBf16>};
const parity::QuantGemm kGemmBF16Vec = {PreparedRowBytesBf16, PrepareBf16, RunVecBf16};
const parity::QuantGemm kGemmF16Tiny = {PreparedRowBytes, PrepareF16,
                                        RunTiny<FmaStep<uint16_t>, PreparedRowBytes>};
const parity::QuantGemm kGemmF16Vec = {PreparedRowBytes, PrepareF16, RunVec<uint16_t>};
const parity::QuantGemm kGemmF32Tiny = {PreparedRowBytes, PrepareF32,
                                        RunTiny<FmaStep<float>, PreparedRowBytes>};
const parity::QuantGemm kGemmF32Vec = {PreparedRowBytes, PrepareF32, RunVec<float>};

}  // namespace r1d::kernels::avx512
