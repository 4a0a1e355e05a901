// The llama.cpp-order kernels (kernels/parity): their rounding rules on hand-picked values, and
// agreement with plain double-precision arithmetic on random data (the order changes only the
// last bits).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "kernels/parity/cpu_reference_order.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

std::vector<float> RandomVector(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(ParityQ8_0, ScaleIsAmaxOver127AndTiesRoundToEven) {
  // amax 127 makes the multiplier exactly 1, so x = 2.5 sits on a tie: the SIMD quantizer
  // rounds it to 2 (the reference roundf would give 3).
  float x[32] = {};
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -3.5f;
  x[3] = 1.5f;
  tensor::BlockQ8_0 b;
  parity::QuantizeRowQ8_0(x, &b, 32);
  EXPECT_EQ(Fp16ToFp32(b.d), 1.0f);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], 2);
  EXPECT_EQ(b.qs[2], -4);
  EXPECT_EQ(b.qs[3], 2);
}

TEST(ParityQ8_0, MultiplierIs127OverAmax) {
  // For amax = 3, 1/(3/127) and 127/3 differ in the last bit; the quantizer must use 127/3.
  const float amax = 3.0f;
  const float id = 127.0f / amax;
  float x[32] = {};
  x[0] = amax;
  for (int e = 1; e < 32; ++e) x[e] = (static_cast<float>(e) - 16.0f) * 0.09f;
  tensor::BlockQ8_0 b;
  parity::QuantizeRowQ8_0(x, &b, 32);
  for (int e = 0; e < 32; ++e) EXPECT_EQ(b.qs[e], static_cast<int>(std::nearbyint(x[e] * id)));
}

TEST(ParityHsum, PairwiseOrder) {
  // With 1e8 in lane 0, the x86 order adds lanes 0 and 4 first: 1e8 + 1 rounds back to 1e8.
  float v[8] = {1e8f, 0, 0, 0, 1.0f, 0, 0, 0};
  EXPECT_EQ(parity::Hsum8(v), 1e8f);
  float w[8] = {1e8f, 0, 0, 0, -1e8f, 1.0f, 0, 0};
  EXPECT_EQ(parity::Hsum8(w), 1.0f);  // lanes 0+4 cancel before lane 5 is added
  float z[16] = {};
  z[0] = 1e8f;
  z[8] = -1e8f;
  z[3] = 0.25f;
  EXPECT_EQ(parity::Hsum16(z), 0.25f);
}

TEST(ParityExp, CloseToLibmAndExactAtTheEdges) {
  EXPECT_EQ(parity::VExpf(0.0f), 1.0f);
  EXPECT_EQ(parity::VExpf(-INFINITY), 0.0f);
  EXPECT_EQ(parity::VExpf(-200.0f), 0.0f);
  EXPECT_EQ(parity::VExpf(200.0f), INFINITY);
  for (float x = -80.0f; x < 80.0f; x += 0.137f) {
    const double ref = std::exp(static_cast<double>(x));
    EXPECT_NEAR(parity::VExpf(x), ref, 4e-7 * ref) << x;
  }
  EXPECT_NEAR(parity::VSilu(1.0f), 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
}

TEST(ParityFloatDot, BothOrdersAgreeWithDouble) {
  for (int64_t n : {16, 64, 96, 128, 256, 272}) {
    const std::vector<float> a = RandomVector(n, 1), b = RandomVector(n, 2);
    std::vector<uint16_t> a16(n), b16(n);
    double ref16 = 0, ref32 = 0;
    for (int64_t i = 0; i < n; ++i) {
      a16[i] = Fp32ToFp16(a[i]);
      b16[i] = Fp32ToFp16(b[i]);
      ref16 += static_cast<double>(Fp16ToFp32(a16[i])) * Fp16ToFp32(b16[i]);
      ref32 += static_cast<double>(a[i]) * b[i];
    }
    EXPECT_NEAR(parity::VecDotF16(a16.data(), b16.data(), n), ref16, 1e-4);
    EXPECT_NEAR(parity::TinyBlasDotF16(a16.data(), b16.data(), n), ref16, 1e-4);
    EXPECT_NEAR(parity::VecDotF32(a.data(), b.data(), n), ref32, 1e-4);
    EXPECT_NEAR(parity::TinyBlasDotF32(a.data(), b.data(), n), ref32, 1e-4);
  }
}

TEST(ParityFloatDot, VecDotTailIsAddedAfterTheLanes) {
  // 64 lanes of 1e8 / -1e8 that cancel, then a tail element: exact in the 64-step order.
  std::vector<uint16_t> x(65), y(65);
  for (int i = 0; i < 65; ++i) {
    x[i] = Fp32ToFp16(i < 64 ? ((i % 2) != 0 ? -1024.0f : 1024.0f) : 0.5f);
    y[i] = Fp32ToFp16(1.0f);
  }
  EXPECT_EQ(parity::VecDotF16(x.data(), y.data(), 65), 0.5f);
}

// The emulated quantized products equal the dequantized double-precision dot product up to
// float rounding, for every type with an emulation.
TEST(ParityQuantDot, MatchesDequantizedProduct) {
  const int64_t n = 512;
  for (DType t :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const TypeKernels* wk = GetKernels(t);
    ASSERT_NE(wk, nullptr);
    const TypeKernels* ak = GetKernels(wk->vec_dot_type);
    const parity::VecDotFn dot = parity::GetVecDot(static_cast<int>(t));
    ASSERT_NE(dot, nullptr) << tensor::GetDTypeInfo(t).name;
    const std::vector<float> w = RandomVector(n, 3), x = RandomVector(n, 4);
    std::vector<uint8_t> wq(tensor::RowBytes(t, n)), xq(tensor::RowBytes(wk->vec_dot_type, n));
    wk->quantize_row(w.data(), wq.data(), n);
    if (wk->vec_dot_type == DType::kQ8_0) {
      parity::QuantizeRowQ8_0(x.data(), xq.data(), n);
    } else {
      ak->quantize_row(x.data(), xq.data(), n);
    }
    std::vector<float> wd(n), xd(n);
    wk->dequantize_row(wq.data(), wd.data(), n);
    ak->dequantize_row(xq.data(), xd.data(), n);
    double ref = 0;
    for (int64_t i = 0; i < n; ++i) ref += static_cast<double>(wd[i]) * xd[i];
    EXPECT_NEAR(dot(n, wq.data(), xq.data()), ref, 1e-4 * (1 + std::fabs(ref)))
        << tensor::GetDTypeInfo(t).name;
    // And the other engineer's kernels agree up to summation order.
    EXPECT_NEAR(dot(n, wq.data(), xq.data()), wk->vec_dot(n, wq.data(), xq.data()),
                1e-3 * (1 + std::fabs(ref)))
        << tensor::GetDTypeInfo(t).name;
  }
}

// Attention in the llama.cpp order (both the single-token and the batch path) stays within
// F16 rounding of a direct double-precision computation.
TEST(ParityAttention, MatchesDirectComputation) {
  ThreadPool pool(2);
  const AttentionShape shape{4, 2, 64, 0.125f};
  const int64_t kv_dim = shape.n_head_kv * shape.head_dim, q_dim = shape.n_head * shape.head_dim;
  const int64_t n_pos = 70;
  const std::vector<float> kf = RandomVector(n_pos * kv_dim, 5),
                           vf = RandomVector(n_pos * kv_dim, 6);
  std::vector<uint16_t> k(kf.size()), v(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) {
    k[i] = Fp32ToFp16(kf[i]);
    v[i] = Fp32ToFp16(vf[i]);
  }
  // The cache split into blocks of 16 positions, as the paged cache stores it.
  std::vector<const uint16_t*> kb, vb;
  for (int64_t b = 0; b * 16 < n_pos; ++b) {
    kb.push_back(k.data() + b * 16 * kv_dim);
    vb.push_back(v.data() + b * 16 * kv_dim);
  }
  const KvView view{kb.data(), vb.data(), 16, kv_dim};
  for (int64_t n : {1, 3}) {
    const int64_t pos0 = n_pos - n;
    const std::vector<float> q = RandomVector(n * q_dim, 7);
    std::vector<float> out(n * q_dim);
    CausalAttention(pool, shape, view, q.data(), n, pos0, out.data());
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < shape.n_head; ++h) {
        const int64_t hk = h / (shape.n_head / shape.n_head_kv);
        const int64_t n_kv = pos0 + t + 1;
        std::vector<double> s(n_kv);
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < n_kv; ++j) {
          double d = 0;
          for (int64_t e = 0; e < shape.head_dim; ++e) {
            d += static_cast<double>(q[t * q_dim + h * shape.head_dim + e]) *
                 Fp16ToFp32(k[j * kv_dim + hk * shape.head_dim + e]);
          }
          s[j] = d * shape.scale;
          mx = std::max(mx, s[j]);
        }
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int64_t e = 0; e < shape.head_dim; ++e) {
          double o = 0;
          for (int64_t j = 0; j < n_kv; ++j) {
            o += s[j] / sum * Fp16ToFp32(v[j * kv_dim + hk * shape.head_dim + e]);
          }
          EXPECT_NEAR(out[t * q_dim + h * shape.head_dim + e], o, 2e-3) << n << " " << t;
        }
      }
    }
  }
}

}  // namespace
}  // namespace r1d::kernels

namespace r1d::kernels {
namespace {

// The SIMD versions must give exactly the bits of the portable emulation.
TEST(ParityQuantDot, SimdIsBitIdenticalToPortable) {
  const int64_t n = 4096;
  for (DType t :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const TypeKernels* wk = GetKernels(t);
    const TypeKernels* ak = GetKernels(wk->vec_dot_type);
    for (uint32_t seed = 10; seed < 20; ++seed) {
      const std::vector<float> w = RandomVector(n, seed), x = RandomVector(n, seed + 100, 3.0f);
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
      EXPECT_EQ(fast, portable) << tensor::DTypeName(t) << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
