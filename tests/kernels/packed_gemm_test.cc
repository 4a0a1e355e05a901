// The products on weights packed at load (kernels/strip/packed_gemm.h, weight_packing.h)
// against the portable llama.cpp-order dot and, for the row-order products, the portable
// row-order dot (packed_row_order.h), output by output, bit for bit: every
// batch size from one token up (tile remainders), rows that do not fill a strip, rows long enough
// to run in several L1 passes, quants at their extremes, and the gathering form of the
// mixture-of-experts layers. Also which matrices PackWeights packs and which it leaves.
#include "kernels/strip/packed_gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/strip/packed_row_order.h"
#include "kernels/weight_packing.h"
#include "quant_test_data.h"
#include "tensor/dtype.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

const DType kPackedTypes[] = {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kQ5_0};

bool HavePacked() { return strip::GetPackedGemm(static_cast<int>(DType::kQ4_K)) != nullptr; }

// w packed into `buffer`, as the model loader does.
WeightView Packed(ThreadPool& pool, const std::vector<uint8_t>& w, DType type, int64_t n,
                  int64_t rows, std::unique_ptr<AnonBuffer>& buffer) {
  WeightView view{w.data(), type, n, rows};
  PackStats stats;
  auto packed = PackWeights(pool, {PackRequest{&view}}, &stats);
  EXPECT_TRUE(packed.ok()) << packed.status().message();
  buffer = std::move(packed).value();
  EXPECT_EQ(stats.matrices, 1);
  EXPECT_NE(view.packed, nullptr);
  return view;
}

// y against the dot of every row of w with the activation rows `pick`, in llama.cpp's order
// or in row order.
void ExpectOrderBits(bool row_order, DType type, int64_t n, const std::vector<uint8_t>& w,
                     int64_t rows, const std::vector<uint8_t>& a, const std::vector<int32_t>& pick,
                     const std::vector<float>& y, int64_t y_stride, const char* what) {
  const int t = static_cast<int>(type);
  ExpectDotBits(row_order ? strip::GetRowOrderDot(t) : parity::GetPortableVecDot(t), type, n, w,
                rows, a, pick, y, y_stride, row_order ? "row order" : what);
}

// MatMul of `tokens` rows of x on w packed, in both orders, checked bit for bit against the
// portable dot of that order.
void ExpectPackedMatMulBits(ThreadPool& pool, DType type, int64_t n, int64_t rows,
                            const std::vector<uint8_t>& w, const std::vector<float>& x,
                            int64_t tokens, const char* what) {
  std::unique_ptr<AnonBuffer> buffer;
  WeightView view = Packed(pool, w, type, n, rows, buffer);
  for (bool row_order : {false, true}) {
    view.row_order = row_order;
    std::vector<float> y(static_cast<size_t>(rows * tokens));
    MatMulScratch scratch;
    MatMul(pool, view, x.data(), tokens, y.data(), scratch);
    ExpectOrderBits(row_order, type, n, w, rows, Activations(type, x, n, tokens), Identity(tokens),
                    y, rows, what);
  }
}

TEST(PackedGemm, EveryOutputMatchesThePortableDotBitForBit) {
  if (!HavePacked()) GTEST_SKIP() << "no packed product on this CPU";
  ThreadPool pool(2);
  for (DType type : kPackedTypes) {
    // Lengths of one block, several, and several L1 passes (32 KiB of packed strip each).
    const std::vector<int64_t> lengths = tensor::GetDTypeInfo(type).block_elems == 32
                                             ? std::vector<int64_t>{64, 192, 2880, 4096}
                                             : std::vector<int64_t>{256, 2816, 8960};
    for (int64_t n : lengths) {
      for (int64_t rows : {1, 15, 16, 37}) {
        for (int64_t tokens : {1, 2, 3, 4, 5, 6, 9, 12, 15, 17}) {
          const uint32_t seed = static_cast<uint32_t>(n * 7 + rows * 13 + tokens * 103);
          const std::vector<uint8_t> w = RandomWeights(type, n, rows, seed);
          const std::vector<float> x = RandomFloats(n * tokens, seed + 1);
          ExpectPackedMatMulBits(pool, type, n, rows, w, x, tokens, "packed");
        }
      }
    }
  }
}

// Quants all at the extremes against activations at the extremes: the largest integer sums
// (no int32 or int16 overflow in any partial sum), for single tokens and a full tile.
TEST(PackedGemm, ExtremeQuantsDoNotOverflow) {
  if (!HavePacked()) GTEST_SKIP() << "no packed product on this CPU";
  ThreadPool pool(2);
  for (DType type : kPackedTypes) {
    const int64_t n = 4096, rows = 16;
    for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}, uint8_t{0x7F}}) {
      const std::vector<uint8_t> w = ExtremeWeights(type, n, rows, fill);
      for (int64_t tokens : {1, 4}) {
        std::vector<float> x(static_cast<size_t>(n * tokens));
        for (size_t i = 0; i < x.size(); ++i) x[i] = (i / 7) % 2 ? 100.0f : -100.0f;
        ExpectPackedMatMulBits(pool, type, n, rows, w, x, tokens, "extremes");
      }
    }
  }
}

// The gathering form (activation rows picked per expert) on packed weights, and a stack of
// expert matrices packed as one: a view of expert e offsets `packed` as it offsets `data`.
TEST(PackedGemm, GatherAndExpertStacks) {
  if (!HavePacked()) GTEST_SKIP() << "no packed product on this CPU";
  ThreadPool pool(2);
  for (DType type : kPackedTypes) {
    const int64_t n = 512, rows = 48, experts = 3, tokens = 6;
    const std::vector<uint8_t> w = RandomWeights(type, n, rows * experts, 41);
    const std::vector<float> x = RandomFloats(n * tokens, 42);
    const std::vector<uint8_t> a = Activations(type, x, n, tokens);
    const int64_t a_row = static_cast<int64_t>(a.size()) / tokens;
    WeightView first{w.data(), type, n, rows};
    auto buffer = PackWeights(pool, {PackRequest{&first, rows * experts}});
    ASSERT_TRUE(buffer.ok());
    ASSERT_NE(first.packed, nullptr);
    const std::vector<int32_t> pick = {5, 0, 0, 3};
    for (int64_t e = 0; e < experts; ++e) {
      for (bool row_order : {false, true}) {
        WeightView view = first;
        view.data = w.data() + e * rows * view.row_bytes();
        view.packed = static_cast<const uint8_t*>(first.packed) + e * rows * view.packed_row_bytes;
        view.row_order = row_order;
        // The row-order products prepare their own activations from the same Q8 rows.
        std::vector<float> y(pick.size() * rows);
        MatMulScratch scratch;
        ASSERT_TRUE(MatMulConverted(pool, view, a.data(), a_row, pick.data(),
                                    static_cast<int64_t>(pick.size()), y.data(), scratch));
        const std::vector<uint8_t> expert(w.begin() + e * rows * view.row_bytes(),
                                          w.begin() + (e + 1) * rows * view.row_bytes());
        ExpectOrderBits(row_order, type, n, expert, rows, a, pick, y, rows, "expert gather");
      }
    }
  }
}

// What PackWeights packs: supported types with whole blocks per strip row; the same data once;
// everything else left in the file layout (and still computed correctly by MatMul).
TEST(PackedGemm, PackWeightsPacksWhatItCanAndLeavesTheRest) {
  if (!HavePacked()) GTEST_SKIP() << "no packed product on this CPU";
  ThreadPool pool(2);
  const std::vector<uint8_t> q4 = RandomWeights(DType::kQ4_K, 256, 32, 1);
  const std::vector<uint8_t> q8_odd = RandomWeights(DType::kQ8_0, 96, 16, 2);  // 3 blocks
  const std::vector<uint16_t> f16(64 * 16, 0x3c00);
  WeightView a{q4.data(), DType::kQ4_K, 256, 32};
  WeightView tied = a;
  WeightView odd{q8_odd.data(), DType::kQ8_0, 96, 16};
  WeightView half{f16.data(), DType::kF16, 64, 16};
  PackStats stats;
  auto buffer = PackWeights(
      pool, {PackRequest{&a}, PackRequest{&tied}, PackRequest{&odd}, PackRequest{&half}}, &stats);
  ASSERT_TRUE(buffer.ok());
  EXPECT_EQ(stats.matrices, 2);
  EXPECT_EQ(stats.skipped, 2);
  EXPECT_EQ(stats.bytes, strip::PackedMatrixBytes(static_cast<int>(DType::kQ4_K), 256, 32));
  EXPECT_EQ(a.packed, tied.packed);
  // A later view of the same data with more rows than were packed stays in the file layout.
  WeightView wider{q4.data(), DType::kQ4_K, 256, 16};
  WeightView taller = wider;
  taller.n_out = 48;
  auto again = PackWeights(pool, {PackRequest{&wider}, PackRequest{&taller}});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(wider.packed, nullptr);
  EXPECT_EQ(taller.packed, nullptr);
  EXPECT_EQ(odd.packed, nullptr);
  EXPECT_EQ(half.packed, nullptr);

  // A budget that holds the first matrix only: the second stays in the file layout.
  WeightView first{q4.data(), DType::kQ4_K, 256, 32};
  const std::vector<uint8_t> q6 = RandomWeights(DType::kQ6_K, 256, 16, 3);
  WeightView second{q6.data(), DType::kQ6_K, 256, 16};
  PackStats budget_stats;
  const int64_t first_bytes = strip::PackedMatrixBytes(static_cast<int>(DType::kQ4_K), 256, 32);
  auto budget = PackWeights(pool, {PackRequest{&first}, PackRequest{&second}}, &budget_stats,
                            first_bytes + 1);
  ASSERT_TRUE(budget.ok());
  EXPECT_NE(first.packed, nullptr);
  EXPECT_EQ(second.packed, nullptr);
  EXPECT_EQ(budget_stats.over_budget, 1);
  EXPECT_EQ(budget_stats.bytes, first_bytes);

  const std::vector<float> x = RandomFloats(96 * 3, 9);
  std::vector<float> y(16 * 3);
  MatMulScratch scratch;
  MatMul(pool, odd, x.data(), 3, y.data(), scratch);
  ExpectPortableBits(DType::kQ8_0, 96, q8_odd, 16, Activations(DType::kQ8_0, x, 96, 3), Identity(3),
                     y, 16, "unpacked");
}

}  // namespace
}  // namespace r1d::kernels

namespace r1d::kernels {
namespace {

// MatMulShared (q/k/v, gate/up in one region) gives each product the bits MatMul gives it,
// for packed and file-layout weights, mixed types (shared and separate preparations) and a
// type without a blocked product (the separate-calls fallback).
TEST(MatMulShared, SameBitsAsSeparateProducts) {
  ThreadPool pool(2);
  const int64_t n = 512;
  const std::vector<uint8_t> q4a = RandomWeights(DType::kQ4_K, n, 48, 1);
  const std::vector<uint8_t> q4b = RandomWeights(DType::kQ4_K, n, 16, 2);
  const std::vector<uint8_t> q6 = RandomWeights(DType::kQ6_K, n, 37, 3);
  const std::vector<uint8_t> q8 = RandomWeights(DType::kQ8_0, n, 20, 4);
  const std::vector<uint16_t> f16(static_cast<size_t>(n * 8), 0x3c00);
  // 0: file layout, 1: packed, 2: packed in row order.
  for (int mode : {0, 1, 2}) {
    const bool pack = mode > 0;
    WeightView a{q4a.data(), DType::kQ4_K, n, 48}, b{q4b.data(), DType::kQ4_K, n, 16};
    WeightView c{q6.data(), DType::kQ6_K, n, 37}, d{q8.data(), DType::kQ8_0, n, 20};
    WeightView h{f16.data(), DType::kF16, n, 8};
    auto buffer = PackWeights(
        pool, pack ? std::vector<PackRequest>{{&a}, {&b}, {&c}, {&d}} : std::vector<PackRequest>{});
    ASSERT_TRUE(buffer.ok());
    for (WeightView* v : {&a, &b, &c, &d}) v->row_order = mode == 2;
    for (int64_t tokens : {1, 3, 24}) {
      const std::vector<float> x = RandomFloats(n * tokens, 7);
      for (const std::vector<const WeightView*>& group :
           std::vector<std::vector<const WeightView*>>{{&a, &b, &c}, {&a, &d}, {&c, &h}}) {
        std::vector<std::vector<float>> got(group.size()), want(group.size());
        std::vector<float*> ys;
        MatMulScratch scratch;
        for (size_t i = 0; i < group.size(); ++i) {
          got[i].assign(static_cast<size_t>(group[i]->n_out * tokens), -1.0f);
          want[i].assign(got[i].size(), -2.0f);
          ys.push_back(got[i].data());
          MatMul(pool, *group[i], x.data(), tokens, want[i].data(), scratch);
        }
        MatMulShared(pool, group.data(), ys.data(), static_cast<int>(group.size()), x.data(),
                     tokens, scratch);
        for (size_t i = 0; i < group.size(); ++i) {
          ASSERT_EQ(std::memcmp(got[i].data(), want[i].data(), got[i].size() * sizeof(float)), 0)
              << "product " << i << " of " << group.size() << ", tokens " << tokens
              << (mode == 2 ? ", row order"
                  : pack    ? ", packed"
                            : ", file layout");
        }
      }
    }
  }
}

}  // namespace
}  // namespace r1d::kernels

namespace r1d::kernels {
namespace {

// The row order and llama.cpp's order sum the same exact integer products and differ only in
// where floats are rounded: per row, within a few float roundings of the sum's magnitude.
TEST(RowOrderDot, AgreesWithTheLlamaOrderToRounding) {
  for (DType type : kPackedTypes) {
    const parity::VecDotFn row = strip::GetRowOrderDot(static_cast<int>(type));
    const parity::VecDotFn llama = parity::GetPortableVecDot(static_cast<int>(type));
    ASSERT_NE(row, nullptr) << tensor::DTypeName(type);
    const int64_t n = 4096, rows = 64;
    const std::vector<uint8_t> w = RandomWeights(type, n, rows, 5);
    const std::vector<float> x = RandomFloats(n, 6);
    const std::vector<uint8_t> a = Activations(type, x, n, 1);
    const int64_t w_row = tensor::RowBytes(type, n);
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float want = llama(n, w.data() + r * w_row, a.data());
      const float got = row(n, w.data() + r * w_row, a.data());
      // The magnitude of the terms: the dot of |weights| with |activations| (dequantized).
      std::vector<float> wf(static_cast<size_t>(n));
      GetKernels(type)->dequantize_row(w.data() + r * w_row, wf.data(), n);
      double scale = 0;
      for (int64_t i = 0; i < n; ++i) scale += std::fabs(wf[i] * x[i]);
      worst = std::max(worst, std::fabs(double{got} - want) / scale);
    }
    EXPECT_LT(worst, 1e-5) << tensor::DTypeName(type);
    EXPECT_GT(worst, 0.0) << tensor::DTypeName(type) << ": the orders never differed";
  }
}

}  // namespace
}  // namespace r1d::kernels
