#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "core/checked_math.h"
#include "core/fp16.h"
#include "core/status.h"
#include "core/thread_pool.h"

namespace r1d {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::Error("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  R1D_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(Status, ResultPropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_EQ(Status::Error("x").WithContext("ctx").message(), "ctx: x");
}

TEST(CheckedMath, DetectsOverflow) {
  uint64_t out = 0;
  EXPECT_TRUE(CheckedMul(1ull << 31, 1ull << 31, &out));
  EXPECT_FALSE(CheckedMul(1ull << 33, 1ull << 31, &out));
  EXPECT_FALSE(CheckedAdd(~0ull, 1, &out));
}

TEST(Fp16, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = Fp16ToFp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(Fp32ToFp16(f), h) << h;
  }
  EXPECT_EQ(Fp16ToFp32(0x3c00), 1.0f);
  EXPECT_EQ(Fp16ToFp32(0xc000), -2.0f);
  EXPECT_EQ(Fp32ToFp16(65520.0f), 0x7c00);            // rounds to infinity
  EXPECT_EQ(Fp32ToFp16(1.0f + 1.0f / 4096), 0x3c00);  // ties to even
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(Fp32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToFp32(0x3f80), 1.0f);
  EXPECT_EQ(Fp32ToBf16(BitsToFloat(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(Fp32ToBf16(BitsToFloat(0x3f818000u)), 0x3f82);  // tie -> even (up)
}

TEST(ThreadPool, RunsEveryIndexOnce) {
  for (int n : {1, 2, 3}) {
    ThreadPool pool(n);
    for (int rep = 0; rep < 100; ++rep) {
      std::atomic<int64_t> sum{0};
      pool.ParallelFor(1000, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum += i;
      });
      EXPECT_EQ(sum.load(), 999 * 1000 / 2);
    }
  }
}

TEST(ThreadPool, DynamicForVisitsEveryIndexExactlyOnce) {
  for (int n : {1, 2, 3}) {
    ThreadPool pool(n);
    for (int64_t count : {0, 1, 7, 1000}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(count));
        pool.ParallelForDynamic(count, grain, [&](int64_t b, int64_t e) {
          if (pool.size() > 1 && count > grain) {
            EXPECT_LE(e - b, grain);
          }
          for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)]++;
        });
        for (int64_t i = 0; i < count; ++i) {
          ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << "index " << i << " grain " << grain;
        }
      }
    }
  }
}

// A thread held up on its chunk (descheduled, say) delays only that chunk: the others steal
// the rest of its share.
TEST(ThreadPool, DynamicForStealsFromAHeldUpThread) {
  for (int n : {2, 3}) {
    ThreadPool pool(n);
    const int64_t count = 1000, grain = 10;
    std::atomic<int64_t> done{0};
    std::atomic<bool> others_finished{false};
    pool.ParallelForDynamic(count, grain, [&](int64_t b, int64_t e) {
      if (b == 0) {
        // Hold the first chunk until every other index is done (or give up after 10 s).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (done.load() < count - (e - b) && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        others_finished = done.load() == count - (e - b);
      }
      done += e - b;
    });
    EXPECT_TRUE(others_finished.load()) << n << " threads";
    EXPECT_EQ(done.load(), count);
  }
}

}  // namespace
}  // namespace r1d
