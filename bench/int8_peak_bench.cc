// Peak rate of the multiply instructions the quantized products are built from, on 1..T threads.
//
// Why: prefill and batched decode (the speed targets of issues 4 and 5) do far more multiplies
// per byte of weights than one-token decode, so their hard limit is the multiply rate, not
// memory. This measures that ceiling: each test runs one instruction on 12 independent
// accumulators (more than latency x issue width, so only throughput counts) with operands in
// registers (no memory traffic). bench/RESULTS.md compares the kernels against it.
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
#include <thread>
#include <vector>

#include "kernels/ops.h"

namespace {

#define R1D_PEAK_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni,avx512bf16,fma")))

constexpr int kUnroll = 12;  // independent accumulators per loop iteration

// Every kernel runs `iterations` loop trips (Test::instructions_per_iteration counted
// instructions each) and returns a value that depends on all accumulators, so the compiler
// cannot drop the work.
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

// One instruction on kUnroll independent chains: `acc = STEP` (STEP reads acc, a and b),
// operands a and b made opaque to the optimizer every trip; the chains are summed with ADD and
// folded to a number so no work can be dropped. A macro, not a template taking a lambda:
// GCC gives a lambda no target attribute, so the intrinsics could not be used inside it.
#define R1D_PEAK_KERNEL(NAME, ACC, INIT, OPERAND_A, OPERAND_B, STEP, ADD, FOLD)           \
  R1D_PEAK_TARGET int64_t NAME(int64_t iterations) {                                      \
    auto a = OPERAND_A;                                                                   \
    auto b = OPERAND_B;                                                                   \
    ACC chains[kUnroll];                                                                  \
    _Pragma("GCC unroll 12") for (int i = 0; i < kUnroll; ++i) chains[i] = INIT;          \
    for (int64_t n = 0; n < iterations; ++n) {                                            \
      _Pragma("GCC unroll 12") for (int i = 0; i < kUnroll; ++i) {                        \
        ACC& acc = chains[i];                                                             \
        acc = STEP;                                                                       \
      }                                                                                   \
      __asm__ volatile("" : "+v"(a), "+v"(b));                                            \
    }                                                                                     \
    ACC sum = chains[0];                                                                  \
    _Pragma("GCC unroll 12") for (int i = 1; i < kUnroll; ++i) sum = ADD(sum, chains[i]); \
    return FOLD(sum);                                                                     \
  }

R1D_PEAK_KERNEL(RunDpbusd, __m512i, _mm512_set1_epi32(i), _mm512_set1_epi8(3), _mm512_set1_epi8(-5),
                _mm512_dpbusd_epi32(acc, a, b), _mm512_add_epi32, FoldI32)
R1D_PEAK_KERNEL(RunDpwssd, __m512i, _mm512_set1_epi32(i), _mm512_set1_epi16(3),
                _mm512_set1_epi16(-5), _mm512_dpwssd_epi32(acc, a, b), _mm512_add_epi32, FoldI32)
// vpmaddubsw has no accumulator: each chain feeds its result back as the unsigned operand
// (the same operands in every chain would let the compiler compute it once per trip).
R1D_PEAK_KERNEL(RunMaddubsw, __m512i, _mm512_set1_epi16(static_cast<int16_t>(i)),
                _mm512_set1_epi8(3), _mm512_set1_epi8(-5),
                _mm512_maddubs_epi16(_mm512_xor_si512(acc, a), b), _mm512_add_epi16, FoldI32)
// 0x3f80 is 1.0 in bfloat16.
R1D_PEAK_KERNEL(RunDpbf16, __m512, _mm512_set1_ps(static_cast<float>(i)),
                (__m512bh)_mm512_set1_epi16(0x3f80), (__m512bh)_mm512_set1_epi16(0x3f80),
                _mm512_dpbf16_ps(acc, a, b), _mm512_add_ps, FoldF32)
R1D_PEAK_KERNEL(RunFma, __m512, _mm512_set1_ps(static_cast<float>(i)), _mm512_set1_ps(1.0f),
                _mm512_set1_ps(0.0f), _mm512_fmadd_ps(a, b, acc), _mm512_add_ps, FoldF32)

// The shape of the k-quant inner step: 8-bit products (vpdpbusd) and, per sub-block, one 16-bit
// scale product (vpdpwssd). Counted per vpdpbusd; the vpdpwssd is overhead.
R1D_PEAK_TARGET int64_t RunDpbusdWithScale(int64_t iterations) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5), s = _mm512_set1_epi16(7);
  __m512i acc[4] = {_mm512_set1_epi32(0), _mm512_set1_epi32(1), _mm512_set1_epi32(2),
                    _mm512_set1_epi32(3)};
  for (int64_t n = 0; n < iterations; ++n) {
    // 8 x vpdpbusd into 4 partial sums, then 4 x vpdpwssd applying the scales: 2:1, about what
    // a 32-value sub-block with 16-bit scales costs. The partial sums restart every trip, so
    // only the 4 vpdpwssd chains carry over (latency is no limit at 12 products per trip).
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512i first =
          _mm512_dpbusd_epi32(_mm512_setzero_si512(), k % 2 ? b : a, k / 2 ? a : b);
      const __m512i both = _mm512_dpbusd_epi32(first, k / 2 ? b : a, k % 2 ? a : b);
      acc[k] = _mm512_dpwssd_epi32(acc[k], both, s);
    }
    __asm__ volatile("" : "+v"(a), "+v"(b), "+v"(s));
  }
  return FoldI32(
      _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3])));
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
        seconds[t] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

// A whole-argument integer in [lo, hi], or `fallback` when the argument is absent; -1 if bad.
int ParseArg(int argc, char** argv, int index, int fallback, int lo, int hi) {
  if (argc <= index) return fallback;
  char* end = nullptr;
  const long v = std::strtol(argv[index], &end, 10);
  return end != argv[index] && *end == '\0' && v >= lo && v <= hi ? static_cast<int>(v) : -1;
}

int main(int argc, char** argv) {
  const int max_threads = ParseArg(argc, argv, 1, 2, 1, 256);
  const int milliseconds = ParseArg(argc, argv, 2, 300, 1, 60000);
  if (argc > 3 || max_threads < 0 || milliseconds < 0) {
    std::fprintf(stderr, "usage: %s [MAX_THREADS 1..256] [MILLISECONDS_PER_TEST 1..60000]\n",
                 argv[0]);
    return 2;
  }
  if (!r1d::kernels::CpuHasAvx512Vnni() || !r1d::kernels::CpuHasAvx512Bf16()) {
    std::fprintf(stderr, "int8_peak_bench: this CPU lacks AVX-512 VNNI or BF16\n");
    return 1;
  }
  const Test clock_test{"add r64 chain", RunAddChain, kUnroll, 0};
  const double hz = MeasureRate(clock_test, 1, milliseconds);
  std::printf("core clock (dependent scalar adds, 1 thread): %.2f GHz\n\n", hz / 1e9);

  const Test tests[] = {
      {"vpdpbusd zmm (u8 x s8)", RunDpbusd, kUnroll, 64},
      {"vpdpbusd zmm + 1/2 vpdpwssd", RunDpbusdWithScale, 8, 64},
      {"vpmaddubsw zmm (+ vpxord)", RunMaddubsw, kUnroll, 64},
      {"vpdpwssd zmm (s16 x s16)", RunDpwssd, kUnroll, 32},
      {"vdpbf16ps zmm", RunDpbf16, kUnroll, 32},
      {"vfmadd231ps zmm", RunFma, kUnroll, 16},
  };
  std::printf("| instruction | MAC/instr | threads | G instr/s | instr/cycle/thread | GMAC/s |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Test& test : tests) {
    for (int threads = 1; threads <= max_threads; ++threads) {
      const double rate = MeasureRate(test, threads, milliseconds);
      std::printf("| %s | %d | %d | %.2f | %.2f | %.1f |\n", test.name, test.macs_per_instruction,
                  threads, rate / 1e9, rate / threads / hz, rate * test.macs_per_instruction / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
}
