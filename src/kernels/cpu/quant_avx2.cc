// AVX2 kernels of the 32-element block types: dot products against Q8_0/Q8_1 activations
// (exact integer block sums, then one FMA per block with the product of the two scales), the
// Q8_0/Q8_1 activation quantizers (bit-identical to the reference) and Q8_0 dequantization.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/x86_helpers_inl.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels::avx2 {
namespace {

using tensor::BlockQ4_0;
using tensor::BlockQ4_1;
using tensor::BlockQ5_0;
using tensor::BlockQ5_1;
using tensor::BlockQ8_0;
using tensor::BlockQ8_1;
constexpr int kQK = 32;

__m256i Load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Shared loop: BlockDot(x, y) returns the 8 int32 partial sums of block x . block y and the
// scale product; two accumulators hide the FMA latency.
template <class BW, class BA, class F>
float BlockLoop(int64_t n, const void* w, const void* a, F block_dot) {
  const BW* x = static_cast<const BW*>(w);
  const BA* y = static_cast<const BA*>(a);
  const int64_t nb = n / kQK;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    acc0 = block_dot(x[i], y[i], acc0);
    acc1 = block_dot(x[i + 1], y[i + 1], acc1);
  }
  if (i < nb) acc0 = block_dot(x[i], y[i], acc0);
  return HsumPs(_mm256_add_ps(acc0, acc1));
}

float Scale(uint16_t dx, uint16_t dy) { return HalfToFloat(dx) * HalfToFloat(dy); }

// Quantizes one 32-float block to int8 like ggml's q8_0/q8_1 reference; returns d and the sum
// of the quants.
float QuantizeBlockQ8(const float* x, int8_t* qs, int* sum) {
  const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
  const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
  const __m256 m =
      _mm256_max_ps(_mm256_max_ps(AbsPs(v0), AbsPs(v1)), _mm256_max_ps(AbsPs(v2), AbsPs(v3)));
  const float amax = HmaxPs(m);
  const float d = amax / 127.0f;
  const __m256 id = _mm256_set1_ps(d != 0 ? 1.0f / d : 0.0f);
  const __m256i i0 = _mm256_cvttps_epi32(RoundHalfAway(_mm256_mul_ps(v0, id)));
  const __m256i i1 = _mm256_cvttps_epi32(RoundHalfAway(_mm256_mul_ps(v1, id)));
  const __m256i i2 = _mm256_cvttps_epi32(RoundHalfAway(_mm256_mul_ps(v2, id)));
  const __m256i i3 = _mm256_cvttps_epi32(RoundHalfAway(_mm256_mul_ps(v3, id)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), PackI32ToI8(i0, i1, i2, i3));
  if (sum != nullptr) {
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    *sum = _mm_cvtsi128_si32(s4);
  }
  return d;
}

}  // namespace

float VecDotQ8_0(int64_t n, const void* w, const void* a) {
  return BlockLoop<BlockQ8_0, BlockQ8_0>(
      n, w, a, [](const BlockQ8_0& x, const BlockQ8_0& y, __m256 acc) {
        const __m256i p = DotI8I8(Load32(x.qs), Load32(y.qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(Scale(x.d, y.d)), _mm256_cvtepi32_ps(p), acc);
      });
}

float VecDotQ4_0(int64_t n, const void* w, const void* a) {
  return BlockLoop<BlockQ4_0, BlockQ8_0>(
      n, w, a, [](const BlockQ4_0& x, const BlockQ8_0& y, __m256 acc) {
        const __m256i q = _mm256_sub_epi8(UnpackNibbles16(x.qs), _mm256_set1_epi8(8));
        const __m256i p = DotI8I8(q, Load32(y.qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(Scale(x.d, y.d)), _mm256_cvtepi32_ps(p), acc);
      });
}

float VecDotQ5_0(int64_t n, const void* w, const void* a) {
  return BlockLoop<BlockQ5_0, BlockQ8_0>(
      n, w, a, [](const BlockQ5_0& x, const BlockQ8_0& y, __m256 acc) {
        const __m256i q5 = _mm256_or_si256(UnpackNibbles16(x.qs), FifthBits(x.qh));
        const __m256i p = DotI8I8(_mm256_sub_epi8(q5, _mm256_set1_epi8(16)), Load32(y.qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(Scale(x.d, y.d)), _mm256_cvtepi32_ps(p), acc);
      });
}

// Q4_1 / Q5_1: unsigned quants, so the min term is m * (d_y * sum(q_y)) = m * s_y.
float VecDotQ4_1(int64_t n, const void* w, const void* a) {
  float mins = 0;
  const float dot = BlockLoop<BlockQ4_1, BlockQ8_1>(
      n, w, a, [&mins](const BlockQ4_1& x, const BlockQ8_1& y, __m256 acc) {
        mins += HalfToFloat(x.m) * HalfToFloat(y.s);
        const __m256i p = DotU8I8(UnpackNibbles16(x.qs), Load32(y.qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(Scale(x.d, y.d)), _mm256_cvtepi32_ps(p), acc);
      });
  return dot + mins;
}

float VecDotQ5_1(int64_t n, const void* w, const void* a) {
  float mins = 0;
  const float dot = BlockLoop<BlockQ5_1, BlockQ8_1>(
      n, w, a, [&mins](const BlockQ5_1& x, const BlockQ8_1& y, __m256 acc) {
        mins += HalfToFloat(x.m) * HalfToFloat(y.s);
        const __m256i q5 = _mm256_or_si256(UnpackNibbles16(x.qs), FifthBits(x.qh));
        const __m256i p = DotU8I8(q5, Load32(y.qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(Scale(x.d, y.d)), _mm256_cvtepi32_ps(p), acc);
      });
  return dot + mins;
}

void QuantizeRowQ8_0(const float* src, void* dst, int64_t n) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) {
    y[i].d = _cvtss_sh(QuantizeBlockQ8(src + i * kQK, y[i].qs, nullptr), _MM_FROUND_TO_NEAREST_INT);
  }
}

void QuantizeRowQ8_1(const float* src, void* dst, int64_t n) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sum = 0;
    const float d = QuantizeBlockQ8(src + i * kQK, y[i].qs, &sum);
    y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    y[i].s = _cvtss_sh(static_cast<float>(sum) * d, _MM_FROUND_TO_NEAREST_INT);
  }
}

void DequantizeRowQ8_0(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(HalfToFloat(x[i].d));
    for (int j = 0; j < kQK; j += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[i].qs + j));
      const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
      _mm256_storeu_ps(dst + i * kQK + j, _mm256_mul_ps(f, d));
    }
  }
}

}  // namespace r1d::kernels::avx2
