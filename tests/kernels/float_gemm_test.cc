// The blocked float-weight products (kernels/float_gemm.h) and the dense MatMul built on them
// against the portable llama.cpp-order dots (tinyBLAS and vec_dot, cpu_reference_order.h),
// output by output, bit for bit: tile remainders in rows and tokens, lengths with and without
// a vec_dot tail, and values over F16's whole finite range (subnormals, signed zeros, the
// largest magnitudes). BF16 (on CPUs with AVX512_BF16) against the emulation of vdpbf16ps.
#include "kernels/float_gemm.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "quant_test_data.h"
#include "tensor/dtype.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

// Finite values of every scale: mostly normal around 1, some tiny, subnormal, zero of either
// sign, or near the largest F16 (products then overflow F16 but not F32).
std::vector<float> SpreadValues(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> kind(0, 99);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) {
    const int k = kind(rng);
    f = normal(rng);
    if (k < 3)
      f *= 1e-6f;  // F16 subnormals
    else if (k < 5)
      f = k == 3 ? 0.0f : -0.0f;
    else if (k < 7)
      f *= 20000.0f;
  }
  return v;
}

// The rows as stored: F16 or BF16 bits, or F32.
std::vector<uint8_t> Stored(DType type, const std::vector<float>& v) {
  std::vector<uint8_t> out;
  if (type == DType::kF16 || type == DType::kBF16) {
    out.resize(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t h = type == DType::kF16 ? Fp32ToFp16(v[i]) : Fp32ToBf16(v[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  } else {
    out.resize(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
  }
  return out;
}

float PortableDot(DType type, bool tiny, int64_t n, const uint8_t* w, const uint8_t* a) {
  const parity::FloatKernels& k = parity::PortableFloatKernels();
  if (type == DType::kBF16) {
    const auto* x = reinterpret_cast<const uint16_t*>(w);
    const auto* y = reinterpret_cast<const uint16_t*>(a);
    return tiny ? parity::TinyBlasDotBF16Dp(x, y, n) : parity::VecDotBF16Dp(x, y, n);
  }
  if (type == DType::kF16) {
    const auto* x = reinterpret_cast<const uint16_t*>(w);
    const auto* y = reinterpret_cast<const uint16_t*>(a);
    return tiny ? k.tiny_blas_dot_f16(x, y, n) : k.vec_dot_f16(x, y, n);
  }
  const auto* x = reinterpret_cast<const float*>(w);
  const auto* y = reinterpret_cast<const float*>(a);
  return tiny ? k.tiny_blas_dot_f32(x, y, n) : k.vec_dot_f32(x, y, n);
}

TEST(FloatGemm, EveryOutputMatchesThePortableDotBitForBit) {
  bool any = false;
  for (DType type : {DType::kF16, DType::kF32, DType::kBF16}) {
    for (bool tiny : {true, false}) {
      const parity::QuantGemm* gemm = GetFloatGemm(type, tiny);
      if (gemm == nullptr) continue;  // no blocked product on this CPU: MatMul uses the dots
      any = true;
      // tinyBLAS takes whole steps (16 elements, BF16 32); vec_dot also a tail past the
      // 64-element steps.
      std::vector<int64_t> lengths = {32, 64, 96, 1536};
      if (type != DType::kBF16) lengths.insert(lengths.end(), {16, 48});
      if (!tiny) lengths.insert(lengths.end(), {1, 15, 31, 70, 200});
      for (int64_t n : lengths) {
        for (int64_t rows : {1, 3, 4, 6, 17}) {
          for (int64_t tokens : {1, 2, 5, 6, 7, 13}) {
            const uint32_t seed = static_cast<uint32_t>(n * 3 + rows * 7 + tokens * 131 + tiny);
            const std::vector<uint8_t> w = Stored(type, SpreadValues(n * rows, seed));
            const std::vector<uint8_t> a = Stored(type, SpreadValues(n * tokens, seed + 1));
            const int64_t row = tensor::RowBytes(type, n);
            std::vector<float> y(static_cast<size_t>(rows * tokens), -1.0f);
            RunBlocked(*gemm, n, w, row, rows, a, tokens, y.data(), rows);
            for (int64_t t = 0; t < tokens; ++t) {
              for (int64_t r = 0; r < rows; ++r) {
                const float want =
                    PortableDot(type, tiny, n, w.data() + r * row, a.data() + t * row);
                ASSERT_EQ(FloatToBits(want), FloatToBits(y[t * rows + r]))
                    << tensor::DTypeName(type) << (tiny ? " tinyBLAS" : " vec_dot") << " n " << n
                    << " rows " << rows << " tokens " << tokens << " at r " << r << " t " << t
                    << ": " << want << " vs " << y[t * rows + r];
              }
            }
          }
        }
      }
    }
  }
  if (!any) GTEST_SKIP() << "no blocked float product on this CPU";
}

// The dense MatMul (activation conversion, threads, row tiles) against the dots of the order
// llama.cpp's dense product takes: tinyBLAS for 2+ tokens where rows are a multiple of 16
// elements and their count a multiple of 4, vec_dot otherwise.
TEST(FloatGemm, MatMulTakesTheReferenceOrderForEachShape) {
  ThreadPool pool(2);
  struct Shape {
    int64_t n, rows;
  };
  for (DType type : {DType::kF16, DType::kF32, DType::kBF16}) {
    // Elsewhere BF16 keeps the per-row dots of an order this emulation does not model.
    if (type == DType::kBF16 && GetFloatGemm(type, false) == nullptr) continue;
    const int64_t step = type == DType::kBF16 ? 32 : 16;  // 272 is a multiple of 16, not 32
    for (Shape s :
         {Shape{256, 40}, Shape{256, 42}, Shape{200, 40}, Shape{272, 40}, Shape{1536, 36}}) {
      for (int64_t tokens : {1, 2, 9}) {
        const bool tiny = tokens >= 2 && s.n % step == 0 && s.rows % 4 == 0;
        const std::vector<float> wf = SpreadValues(s.n * s.rows, 5);
        const std::vector<uint8_t> w = Stored(type, wf);
        const std::vector<float> x = RandomFloats(s.n * tokens, 6);
        // MatMul rounds F32 activations to the weight's vec-dot type, as llama.cpp does.
        const std::vector<uint8_t> a = Stored(type, x);
        std::vector<float> y(static_cast<size_t>(s.rows * tokens));
        MatMulScratch scratch;
        MatMul(pool, WeightView{w.data(), type, s.n, s.rows}, x.data(), tokens, y.data(), scratch);
        const int64_t row = tensor::RowBytes(type, s.n);
        for (int64_t t = 0; t < tokens; ++t) {
          for (int64_t r = 0; r < s.rows; ++r) {
            const float want = PortableDot(type, tiny, s.n, w.data() + r * row, a.data() + t * row);
            ASSERT_EQ(FloatToBits(want), FloatToBits(y[t * s.rows + r]))
                << tensor::DTypeName(type) << " n " << s.n << " rows " << s.rows << " tokens "
                << tokens << " r " << r << " t " << t;
          }
        }
      }
    }
  }
}

// The per-row BF16 dot the dispatcher installs on AVX512_BF16 CPUs (the experts' products and
// every product without a blocked one take it) is ggml_vec_dot_bf16's order too.
TEST(FloatGemm, Bf16RowDotIsTheReferenceOrder) {
  if (GetFloatGemm(DType::kBF16, false) == nullptr) GTEST_SKIP() << "no AVX512_BF16";
  const TypeKernels* k = GetKernels(DType::kBF16);
  for (int64_t n : {1, 31, 64, 100, 128, 1536, 1570}) {
    const std::vector<uint8_t> w = Stored(DType::kBF16, SpreadValues(n, 11 + n));
    const std::vector<uint8_t> a = Stored(DType::kBF16, SpreadValues(n, 12 + n));
    const float want = PortableDot(DType::kBF16, false, n, w.data(), a.data());
    EXPECT_EQ(FloatToBits(want), FloatToBits(k->vec_dot(n, w.data(), a.data()))) << "n " << n;
  }
}

}  // namespace
}  // namespace r1d::kernels
