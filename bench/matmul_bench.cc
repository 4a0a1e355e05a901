// Micro-benchmark of kernels::MatMul, the op that dominates every forward pass: for the weight
// types of the published R1 distills and the feed-forward shape of the 1.5B model, the time of
// one product at several batch sizes, printed as GB/s of weights streamed and GMAC/s, for the
// weights as stored in the file and, where the type has one, packed at load
// (kernels/weight_packing.h), in llama.cpp's order ("packed") and in row order ("row",
// `--fast-dots`). Not part of the tests.
//   build/matmul_bench [threads] [n_in] [n_out] [types, e.g. q4_K,q6_K] [tokens, e.g. 1,4]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/weight_packing.h"
#include "tensor/dtype.h"

namespace {

using r1d::tensor::DType;

double SecondsPerCall(r1d::ThreadPool& pool, const r1d::kernels::WeightView& w,
                      const std::vector<float>& x, int64_t n_tokens, double& cpu_seconds) {
  std::vector<float> y(static_cast<size_t>(w.n_out * n_tokens));
  r1d::kernels::MatMulScratch scratch;
  r1d::kernels::MatMul(pool, w, x.data(), n_tokens, y.data(), scratch);  // warm-up
  // Enough calls for ~0.3 s.
  int calls = 0;
  const std::clock_t cpu_start = std::clock();
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < 0.3) {
    r1d::kernels::MatMul(pool, w, x.data(), n_tokens, y.data(), scratch);
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC / calls;
  return elapsed / calls;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t n_in = argc > 2 ? std::atoll(argv[2]) : 1536;
  const int64_t n_out = argc > 3 ? std::atoll(argv[3]) : 8960;
  const std::string type_filter = argc > 4 ? argv[4] : "";
  std::vector<int64_t> token_counts = {1, 2, 4, 8, 16, 32, 64};
  if (argc > 5) {
    token_counts.clear();
    for (const char* p = argv[5]; *p != '\0';) {
      char* end = nullptr;
      token_counts.push_back(std::strtoll(p, &end, 10));
      p = *end == ',' ? end + 1 : end;
      if (end == p && *p != '\0') return 1;
    }
  }
  r1d::ThreadPool pool(threads);
  std::printf("MatMul %lld x %lld, %d threads\n", static_cast<long long>(n_out),
              static_cast<long long>(n_in), pool.size());
  // CPU time per call (all threads, spinning included) is steadier than wall time on a busy
  // machine; with one thread it is the kernel's own cost.
  std::printf("%-6s %-6s %6s %10s %10s %10s %12s\n", "type", "layout", "tokens", "us/call", "GB/s",
              "GMAC/s", "cpu us/call");
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  const int64_t max_tokens = 256;
  std::vector<float> x(static_cast<size_t>(n_in * max_tokens));
  for (float& v : x) v = normal(gen);
  for (DType type : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_0, DType::kQ5_0,
                     DType::kF16, DType::kBF16}) {
    const std::string name = r1d::tensor::DTypeName(type);
    if (!type_filter.empty() &&
        ("," + type_filter + ",").find("," + name + ",") == std::string::npos) {
      continue;
    }
    const auto* k = r1d::kernels::GetKernels(type);
    const int64_t row_bytes = r1d::tensor::RowBytes(type, n_in);
    std::vector<uint8_t> data(static_cast<size_t>(row_bytes * n_out));
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t r = 0; r < n_out; ++r) {
      for (float& v : row) v = normal(gen);
      k->quantize_row(row.data(), data.data() + r * row_bytes, n_in);
    }
    r1d::kernels::WeightView file{data.data(), type, n_in, n_out};
    r1d::kernels::WeightView packed = file;
    auto buffer = r1d::kernels::PackWeights(pool, {r1d::kernels::PackRequest{&packed}});
    if (!buffer.ok()) {
      std::fprintf(stderr, "%s\n", buffer.status().message().c_str());
      return 1;
    }
    r1d::kernels::WeightView in_row_order = packed;
    in_row_order.row_order = true;
    for (const r1d::kernels::WeightView* w : {&file, &packed, &in_row_order}) {
      if (w != &file && packed.packed == nullptr) continue;
      for (int64_t t : token_counts) {
        double cpu = 0;
        const double s = SecondsPerCall(pool, *w, x, t, cpu);
        std::printf("%-6s %-6s %6lld %10.1f %10.2f %10.2f %12.1f\n", r1d::tensor::DTypeName(type),
                    w == &file     ? "file"
                    : w == &packed ? "packed"
                                   : "row",
                    static_cast<long long>(t), s * 1e6, static_cast<double>(data.size()) / s / 1e9,
                    static_cast<double>(n_in * n_out * t) / s / 1e9, cpu * 1e6);
      }
    }
  }
  return 0;
}
