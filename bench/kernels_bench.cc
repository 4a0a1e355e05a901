// Micro-benchmark of the vec_dot kernels: GB/s of weight bytes streamed, per type and ISA, one
// thread, for a matrix that fits in L2 ("hot") and one far larger than the caches ("cold",
// what decode sees). Not part of the tests. Build by hand against a build tree, e.g.:
//   g++ -O2 -std=c++20 -Isrc bench/kernels_bench.cc build-kernels/libr1d_kernels.a
//       build-kernels/libr1d_tensor.a build-kernels/libr1d_core.a -o /tmp/kernels_bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace {

using r1d::kernels::Isa;
using r1d::tensor::DType;

double GbPerSecond(const r1d::kernels::TypeKernels& k, int64_t n, int64_t rows, int reps) {
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(gen);
  const int64_t row_bytes = r1d::tensor::RowBytes(k.type, n);
  std::vector<uint8_t> w(static_cast<size_t>(row_bytes * rows));
  for (int64_t r = 0; r < rows; ++r) k.quantize_row(x.data(), w.data() + r * row_bytes, n);
  const auto* act = r1d::kernels::GetKernels(k.vec_dot_type, Isa::kScalar);
  std::vector<uint8_t> a(static_cast<size_t>(r1d::tensor::RowBytes(k.vec_dot_type, n)));
  act->quantize_row(x.data(), a.data(), n);
  volatile float sink = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0; rep < reps; ++rep) {
    for (int64_t r = 0; r < rows; ++r)
      sink = sink + k.vec_dot(n, w.data() + r * row_bytes, a.data());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(w.size()) * reps / s / 1e9;
}

}  // namespace

int main() {
  const DType types[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                         DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                         DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
  const int64_t n = 4096;
  std::printf("%-6s %-7s %10s %10s   (GB/s of weights, 1 thread, n=%lld)\n", "type", "isa", "hot",
              "cold", static_cast<long long>(n));
  for (DType t : types) {
    for (Isa isa : r1d::kernels::AvailableIsas()) {
      const auto* k = r1d::kernels::GetKernels(t, isa);
      const int64_t row_bytes = r1d::tensor::RowBytes(t, n);
      const int64_t hot_rows = std::max<int64_t>(1, (256 << 10) / row_bytes);
      const int64_t cold_rows = (64ll << 20) / row_bytes;
      const double hot = GbPerSecond(*k, n, hot_rows, isa == Isa::kScalar ? 20 : 200);
      const double cold = GbPerSecond(*k, n, cold_rows, 2);
      std::printf("%-6s %-7s %10.2f %10.2f\n", r1d::tensor::DTypeName(t),
                  r1d::kernels::IsaName(isa), hot, cold);
    }
  }
  return 0;
}
