// Peak rate of the multiply instructions the quantized products are built from, on 1..T threads.
//
// Why: the remaining speed targets of issues 4 and 5 (prefill, batched decode) are bound by
// multiplies, not memory. This measures the ceiling the kernels are held against: each test runs
// one instruction on 12 independent accumulators (more than latency x issue width, so only
// throughput counts) with operands in registers (no memory traffic).
//
// Usage: int8_peak_bench [MAX_THREADS] [MILLISECONDS_PER_TEST]
// Prints a table: instruction, multiply-adds per instruction, and per thread count the
// billions of instructions and of multiply-adds per second, plus instructions per core clock
// (the clock is measured with a dependent chain of scalar adds, one cycle each).
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

#define R1D_PEAK_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni,avx512bf16,fma")))

constexpr int kUnroll = 12;  // independent accumulators per loop iteration

// Every kernel runs `iterations` loop trips of kUnroll instructions and returns a value that
// depends on all accumulators so the compiler cannot drop the work.
using Kernel = int64_t (*)(int64_t iterations);

// Horizontal sums through memory: GCC 12 warns falsely inside the _mm512_reduce_* intrinsics.
R1D_PEAK_TARGET int64_t FoldI32(__m512i v) {
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, v);
  int64_t total = 0;
  for (int32_t lane : lanes) total += lane;
  return total;
}

R1D_PEAK_TARGET int64_t FoldF32(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  double total = 0;
  for (float lane : lanes) total += lane;
  return static_cast<int64_t>(total);
}

#define R1D_REPEAT12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

R1D_PEAK_TARGET int64_t RunDpbusd(int64_t iterations) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
#define DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
  R1D_REPEAT12(DECL)
#undef DECL
  for (int64_t n = 0; n < iterations; ++n) {
#define STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, a, b);
    R1D_REPEAT12(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a), "+v"(b));  // operands stay unknown to the optimizer
  }
  __m512i sum = _mm512_setzero_si512();
#define SUM(i) sum = _mm512_add_epi32(sum, acc##i);
  R1D_REPEAT12(SUM)
#undef SUM
  return FoldI32(sum);
}

R1D_PEAK_TARGET int64_t RunDpwssd(int64_t iterations) {
  __m512i a = _mm512_set1_epi16(3), b = _mm512_set1_epi16(-5);
#define DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
  R1D_REPEAT12(DECL)
#undef DECL
  for (int64_t n = 0; n < iterations; ++n) {
#define STEP(i) acc##i = _mm512_dpwssd_epi32(acc##i, a, b);
    R1D_REPEAT12(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a), "+v"(b));
  }
  __m512i sum = _mm512_setzero_si512();
#define SUM(i) sum = _mm512_add_epi32(sum, acc##i);
  R1D_REPEAT12(SUM)
#undef SUM
  return FoldI32(sum);
}

// The shape of the k-quant inner step: 8-bit products (vpdpbusd) and, per sub-block, one 16-bit
// scale product (vpdpwssd). Counted per vpdpbusd; the vpdpwssd is overhead.
R1D_PEAK_TARGET int64_t RunDpbusdWithScale(int64_t iterations) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5), s = _mm512_set1_epi16(7);
#define DECL(i) __m512i acc##i = _mm512_set1_epi32(i);
  R1D_REPEAT12(DECL)
#undef DECL
  __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0;
  for (int64_t n = 0; n < iterations; ++n) {
    // 8 x vpdpbusd into 4 partial sums, then 4 x vpdpwssd applying the scales: 2:1, about what
    // a 32-value sub-block with 16-bit scales costs.
    t0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a, b);
    t1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), b, a);
    t2 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), a, a);
    t3 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), b, b);
    t0 = _mm512_dpbusd_epi32(t0, b, a);
    t1 = _mm512_dpbusd_epi32(t1, a, b);
    t2 = _mm512_dpbusd_epi32(t2, b, b);
    t3 = _mm512_dpbusd_epi32(t3, a, a);
    acc0 = _mm512_dpwssd_epi32(acc0, t0, s);
    acc1 = _mm512_dpwssd_epi32(acc1, t1, s);
    acc2 = _mm512_dpwssd_epi32(acc2, t2, s);
    acc3 = _mm512_dpwssd_epi32(acc3, t3, s);
    __asm__ volatile("" : "+v"(a), "+v"(b), "+v"(s));
  }
  __m512i sum = _mm512_setzero_si512();
#define SUM(i) sum = _mm512_add_epi32(sum, acc##i);
  R1D_REPEAT12(SUM)
#undef SUM
  return FoldI32(sum);
}

R1D_PEAK_TARGET int64_t RunMaddubsw(int64_t iterations) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
#define DECL(i) __m512i acc##i = _mm512_set1_epi16(static_cast<int16_t>(i));
  R1D_REPEAT12(DECL)
#undef DECL
  for (int64_t n = 0; n < iterations; ++n) {
    // vpmaddubsw has no accumulator; xor-ing its result in keeps the 12 chains independent
    // at the cost of one cheap logic op each (a different port on every recent core).
#define STEP(i) acc##i = _mm512_xor_si512(acc##i, _mm512_maddubs_epi16(a, b));
    R1D_REPEAT12(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a), "+v"(b));
  }
  __m512i sum = _mm512_setzero_si512();
#define SUM(i) sum = _mm512_add_epi16(sum, acc##i);
  R1D_REPEAT12(SUM)
#undef SUM
  return FoldI32(sum);
}

R1D_PEAK_TARGET int64_t RunDpbf16(int64_t iterations) {
  __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = a;  // 1.0 in bfloat16
#define DECL(i) __m512 acc##i = _mm512_set1_ps(static_cast<float>(i));
  R1D_REPEAT12(DECL)
#undef DECL
  for (int64_t n = 0; n < iterations; ++n) {
#define STEP(i) acc##i = _mm512_dpbf16_ps(acc##i, a, b);
    R1D_REPEAT12(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a), "+v"(b));
  }
  __m512 sum = _mm512_setzero_ps();
#define SUM(i) sum = _mm512_add_ps(sum, acc##i);
  R1D_REPEAT12(SUM)
#undef SUM
  return FoldF32(sum);
}

R1D_PEAK_TARGET int64_t RunFma(int64_t iterations) {
  __m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(0.0f);
#define DECL(i) __m512 acc##i = _mm512_set1_ps(static_cast<float>(i));
  R1D_REPEAT12(DECL)
#undef DECL
  for (int64_t n = 0; n < iterations; ++n) {
#define STEP(i) acc##i = _mm512_fmadd_ps(a, b, acc##i);
    R1D_REPEAT12(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a), "+v"(b));
  }
  __m512 sum = _mm512_setzero_ps();
#define SUM(i) sum = _mm512_add_ps(sum, acc##i);
  R1D_REPEAT12(SUM)
#undef SUM
  return FoldF32(sum);
}

// A dependent chain of scalar adds retires one per cycle on every x86 core of the last 20
// years, so its rate is the core clock (with turbo and whatever the hypervisor grants).
int64_t RunAddChain(int64_t iterations) {
  int64_t x = 0;
  for (int64_t n = 0; n < iterations; ++n) {
    __asm__ volatile(
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        : "+r"(x));
  }
  return x;
}

struct Test {
  const char* name;
  Kernel kernel;
  int instructions_per_iteration;  // the counted instruction
  int macs_per_instruction;        // multiply-adds (lanes x products per lane)
};

std::atomic<int64_t> g_sink{0};

// Runs `kernel` on `threads` threads for about `milliseconds`; returns counted instructions
// per second over all threads.
double MeasureRate(const Test& test, int threads, int milliseconds) {
  // Calibrate the trip count on one thread so each timed run lasts about the requested time.
  int64_t iterations = 1 << 16;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    g_sink += test.kernel(iterations);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0.02) {
      iterations = static_cast<int64_t>(iterations * (milliseconds / 1000.0) / seconds) + 1;
      break;
    }
    iterations *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {  // best of three: the VM's neighbours only slow us down
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    std::vector<double> seconds(threads);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load()) {
        }
        const auto start = std::chrono::steady_clock::now();
        g_sink += test.kernel(iterations);
        seconds[t] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                         .count();
      });
    }
    while (ready.load() < threads) {
    }
    go.store(true);
    for (auto& thread : pool) thread.join();
    double rate = 0;
    for (double s : seconds) {
      rate += static_cast<double>(iterations) * test.instructions_per_iteration / s;
    }
    best = std::max(best, rate);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int max_threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int milliseconds = argc > 2 ? std::atoi(argv[2]) : 300;
  if (max_threads < 1 || milliseconds < 1) {
    std::fprintf(stderr, "usage: %s [MAX_THREADS>=1] [MILLISECONDS_PER_TEST>=1]\n", argv[0]);
    return 2;
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512bf16")) {
    std::fprintf(stderr, "int8_peak_bench: this CPU lacks AVX-512 VNNI or BF16\n");
    return 1;
  }
  const Test clock_test{"add r64 chain", RunAddChain, kUnroll, 0};
  const double hz = MeasureRate(clock_test, 1, milliseconds);
  std::printf("core clock (dependent scalar adds, 1 thread): %.2f GHz\n\n", hz / 1e9);

  const Test tests[] = {
      {"vpdpbusd zmm (u8 x s8)", RunDpbusd, kUnroll, 64},
      {"vpdpbusd zmm + 1/2 vpdpwssd", RunDpbusdWithScale, 8, 64},
      {"vpmaddubsw zmm (no accumulate)", RunMaddubsw, kUnroll, 64},
      {"vpdpwssd zmm (s16 x s16)", RunDpwssd, kUnroll, 32},
      {"vdpbf16ps zmm", RunDpbf16, kUnroll, 32},
      {"vfmadd231ps zmm", RunFma, kUnroll, 16},
  };
  std::printf("| instruction | MAC/instr | threads | G instr/s | instr/cycle/thread | GMAC/s |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Test& test : tests) {
    for (int threads = 1; threads <= max_threads; ++threads) {
      const double rate = MeasureRate(test, threads, milliseconds);
      std::printf("| %s | %d | %d | %.2f | %.2f | %.1f |\n", test.name,
                  test.macs_per_instruction, threads, rate / 1e9, rate / threads / hz,
                  rate * test.macs_per_instruction / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
}
