// Axpy and DotInDouble (kernels/elementwise.h) on this CPU's best instruction set against the
// plain loops: Axpy and AxpyRows bit for bit (product and sum rounded separately, no fused
// multiply-add); DotInDouble within double rounding, DotRowsInDouble bit for bit against it;
// DotLanes8 bit for bit in its documented order; with lengths that leave SIMD remainders.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/elementwise.h"

namespace r1d::kernels {
namespace {

std::vector<float> Random(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

// Magnitudes spread over 2^+-40, so that the double sums round and their order shows.
std::vector<float> WideRandom(int64_t n, uint32_t seed) {
  std::vector<float> v = Random(n, seed);
  std::mt19937 gen(seed + 1000);
  std::uniform_int_distribution<int> exponent(-40, 40);
  for (float& x : v) x = std::ldexp(x, exponent(gen));
  return v;
}

TEST(FloatRows, AxpyRoundsProductAndSumSeparately) {
  for (int64_t n : {1, 15, 16, 17, 512, 515}) {
    const std::vector<float> x = Random(n, 1);
    std::vector<float> y = Random(n, 2), want = y;
    const float a = 0.7301f;
    for (int64_t i = 0; i < n; ++i) {
      volatile float p = a * x[i];  // rounded to float before the sum
      want[i] = want[i] + p;
    }
    Axpy(a, x.data(), y.data(), n);
    ASSERT_EQ(0, std::memcmp(want.data(), y.data(), y.size() * sizeof(float))) << "n " << n;
  }
}

TEST(FloatRows, DotInDoubleSumsFloatProducts) {
  for (int64_t n : {1, 7, 8, 9, 512, 517}) {
    const std::vector<float> x = Random(n, 3), y = Random(n, 4);
    double want = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float p = x[i] * y[i];
      want += p;
      magnitude += std::fabs(p);
    }
    EXPECT_NEAR(DotInDouble(x.data(), y.data(), n), want, 1e-14 * magnitude) << "n " << n;
  }
}

TEST(FloatRows, ScaleRoundsEachProduct) {
  for (int64_t n : {1, 15, 16, 17, 2048, 2051}) {
    const std::vector<float> x = WideRandom(n, 12);
    std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    const float a = -0.3301f;
    for (int64_t i = 0; i < n; ++i) want[i] = a * x[i];
    Scale(a, x.data(), got.data(), n);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), got.size() * sizeof(float))) << "n " << n;
  }
}

TEST(FloatRows, AxpyRowsEqualsAxpyRowByRow) {
  for (int64_t n : {1, 16, 127, 128, 512, 515, 576}) {
    for (int64_t n_rows : {1, 3, 128}) {
      const int64_t stride = n + 5;
      const std::vector<float> rows = Random(stride * n_rows, 7), a = Random(n_rows, 8);
      std::vector<float> want = Random(n, 9), got = want;
      for (int64_t r = 0; r < n_rows; ++r) {
        for (int64_t i = 0; i < n; ++i) {
          volatile float p = a[r] * rows[r * stride + i];  // rounded before the sum
          want[i] = want[i] + p;
        }
      }
      AxpyRows(a.data(), rows.data(), stride, n_rows, got.data(), n);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), got.size() * sizeof(float)))
          << "n " << n << ", rows " << n_rows;
    }
  }
}

TEST(FloatRows, DotRowsInDoubleEqualsDotInDoubleBitForBit) {
  for (int64_t n : {1, 7, 8, 9, 512, 517}) {
    for (int64_t n_rows : {1, 3, 4, 5, 9, 128}) {
      const int64_t stride = n + 3;
      const std::vector<float> rows = WideRandom(stride * n_rows, 10), x = WideRandom(n, 11);
      std::vector<double> got(static_cast<size_t>(n_rows));
      DotRowsInDouble(rows.data(), stride, n_rows, x.data(), n, got.data());
      for (int64_t r = 0; r < n_rows; ++r) {
        const double want = DotInDouble(rows.data() + r * stride, x.data(), n);
        ASSERT_EQ(0, std::memcmp(&want, &got[r], sizeof(double)))
            << "n " << n << ", row " << r << " of " << n_rows << ": " << want << " vs " << got[r];
      }
    }
  }
}

TEST(FloatRows, DotLanes8KeepsItsOrder) {
  for (int64_t n : {1, 7, 8, 9, 64, 576, 579}) {
    const std::vector<float> x = Random(n, 5), y = Random(n, 6);
    volatile float lane[8] = {};  // volatile: each product and sum rounded, never fused
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; ++l) {
        volatile float p = x[i + l] * y[i + l];
        lane[l] = lane[l] + p;
      }
    }
    volatile float s =
        ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; i < n; ++i) {
      volatile float p = x[i] * y[i];
      s = s + p;
    }
    const float got = DotLanes8(x.data(), y.data(), n);
    const float want = s;
    ASSERT_EQ(0, std::memcmp(&want, &got, sizeof(float)))
        << "n " << n << ": " << want << " vs " << got;
  }
}

}  // namespace
}  // namespace r1d::kernels
