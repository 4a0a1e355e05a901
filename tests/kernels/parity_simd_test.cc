// The SIMD versions of the llama.cpp-order kernels (kernels/parity) against the portable
// emulation they replace: the same bits on random data of many lengths, including the tails
// and the out-of-range inputs that take the scalar fallbacks.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "tensor/dtype.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

std::vector<float> Random(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<uint16_t> ToF16(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = Fp32ToFp16(v[i]);
  return h;
}

// Bit patterns, so that a difference in sign of zero or a NaN is also a failure.
uint32_t Bits(float f) { return FloatToBits(f); }

const parity::FloatKernels& Fast() { return parity::FastFloatKernels(); }
const parity::FloatKernels& Portable() { return parity::PortableFloatKernels(); }

TEST(ParitySimd, FloatDotsAreBitIdentical) {
  for (int64_t n : {1, 7, 16, 32, 48, 63, 64, 65, 100, 128, 172, 256, 768, 1000, 4096}) {
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      const std::vector<float> x = Random(n, seed), y = Random(n, seed + 50, 2.0f);
      const std::vector<uint16_t> xh = ToF16(x), yh = ToF16(y);
      EXPECT_EQ(Bits(Fast().vec_dot_f32(x.data(), y.data(), n)),
                Bits(Portable().vec_dot_f32(x.data(), y.data(), n)))
          << "f32 n " << n;
      EXPECT_EQ(Bits(Fast().vec_dot_f16(xh.data(), yh.data(), n)),
                Bits(Portable().vec_dot_f16(xh.data(), yh.data(), n)))
          << "f16 n " << n;
      if (n % 16 == 0) {
        EXPECT_EQ(Bits(Fast().tiny_blas_dot_f32(x.data(), y.data(), n)),
                  Bits(Portable().tiny_blas_dot_f32(x.data(), y.data(), n)))
            << "tiny f32 n " << n;
        EXPECT_EQ(Bits(Fast().tiny_blas_dot_f16(xh.data(), yh.data(), n)),
                  Bits(Portable().tiny_blas_dot_f16(xh.data(), yh.data(), n)))
            << "tiny f16 n " << n;
      }
    }
  }
}

TEST(ParitySimd, FmaF16RowIsBitIdentical) {
  for (int64_t n : {1, 8, 15, 32, 64, 100, 128}) {
    const std::vector<float> a = Random(n, 3), v = Random(n, 4);
    const std::vector<uint16_t> vh = ToF16(v);
    std::vector<float> fast = a, portable = a;
    for (float p : {0.5f, -1.25f, 3.0e-3f}) {
      Fast().fma_f16_row(fast.data(), vh.data(), p, n);
      Portable().fma_f16_row(portable.data(), vh.data(), p, n);
    }
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(Bits(fast[i]), Bits(portable[i])) << n << " " << i;
  }
}

// Inputs spread over the whole range of exp, including under- and overflow, -inf and zeros.
std::vector<float> ExpInputs(int64_t n, uint32_t seed) {
  std::vector<float> x = Random(n, seed, 30.0f);
  if (n > 3) {
    x[0] = -INFINITY;
    x[1] = 0.0f;
    x[2] = -0.0f;
    x[3] = -100.0f;
  }
  for (int64_t i = 4; i < n; i += 11) x[i] *= 5.0f;  // beyond +-88: inf / subnormal / zero
  return x;
}

TEST(ParitySimd, ExpRowIsBitIdentical) {
  for (int64_t n : {1, 5, 8, 16, 33, 100, 1000, 4096}) {
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const std::vector<float> x = ExpInputs(n, seed);
      for (float sub : {0.0f, 3.5f, -20.0f}) {
        std::vector<float> fast = x, portable = x;
        Fast().exp_row(fast.data(), sub, n);
        Portable().exp_row(portable.data(), sub, n);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(Bits(fast[i]), Bits(portable[i])) << "x " << x[i] << " sub " << sub;
        }
      }
    }
  }
  // Every vector in the normal range, so the SIMD path (not the fallback) is what is compared.
  const std::vector<float> x = Random(4096, 9, 10.0f);
  std::vector<float> fast = x, portable = x;
  Fast().exp_row(fast.data(), 0.0f, 4096);
  Portable().exp_row(portable.data(), 0.0f, 4096);
  for (int64_t i = 0; i < 4096; ++i) ASSERT_EQ(Bits(fast[i]), Bits(portable[i])) << x[i];
}

TEST(ParitySimd, SiluMulRowIsBitIdentical) {
  for (int64_t n : {1, 7, 8, 64, 100, 768, 4096}) {
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const std::vector<float> g = ExpInputs(n, seed), u = Random(n, seed + 7);
      std::vector<float> fast(n), portable(n);
      Fast().silu_mul_row(g.data(), u.data(), n, fast.data());
      Portable().silu_mul_row(g.data(), u.data(), n, portable.data());
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(Bits(fast[i]), Bits(portable[i])) << "gate " << g[i];
      }
    }
  }
}

TEST(ParitySimd, QuantizeQ8_0IsBitIdentical) {
  for (int64_t n : {32, 64, 256, 4096}) {
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      std::vector<float> x = Random(n, seed, 0.1f * static_cast<float>(seed));
      for (int64_t i = 0; i < 32; ++i) x[i] = 0.0f;  // an all-zero block
      if (n > 64) x[40] = 127.0f * 0.5f / 10.0f;     // ties land on halves after scaling
      const size_t bytes = tensor::RowBytes(DType::kQ8_0, n);
      std::vector<uint8_t> fast(bytes), portable(bytes);
      Fast().quantize_row_q8_0(x.data(), fast.data(), n);
      Portable().quantize_row_q8_0(x.data(), portable.data(), n);
      EXPECT_EQ(0, std::memcmp(fast.data(), portable.data(), bytes)) << n << " " << seed;
    }
  }
}

TEST(ParitySimd, QuantDotsAreBitIdenticalAtSeveralLengths) {
  for (DType t :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const TypeKernels* wk = GetKernels(t);
    const TypeKernels* ak = GetKernels(wk->vec_dot_type);
    for (int64_t n : {256, 512, 768, 2816}) {
      for (uint32_t seed = 30; seed < 36; ++seed) {
        // Large activations make the Q8_K quants reach the ends of their range.
        const std::vector<float> w = Random(n, seed), x = Random(n, seed + 100, 10.0f);
        std::vector<uint8_t> wq(tensor::RowBytes(t, n)), xq(tensor::RowBytes(wk->vec_dot_type, n));
        wk->quantize_row(w.data(), wq.data(), n);
        if (wk->vec_dot_type == DType::kQ8_0) {
          parity::QuantizeRowQ8_0(x.data(), xq.data(), n);
        } else {
          ak->quantize_row(x.data(), xq.data(), n);
        }
        const float fast = parity::GetVecDot(static_cast<int>(t))(n, wq.data(), xq.data());
        const float portable =
            parity::GetPortableVecDot(static_cast<int>(t))(n, wq.data(), xq.data());
        EXPECT_EQ(Bits(fast), Bits(portable)) << tensor::DTypeName(t) << " n " << n;
      }
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
