#pragma once
// SIMD versions of some llama.cpp-order dot products (bit-identical to the portable ones in
// ggml_cpu_order.cc). Installed only when the CPU has AVX2 + FMA + F16C.
#include <cstdint>

namespace r1d::kernels::parity::avx2 {
float DotQ8_0(int64_t n, const void* w, const void* a);
float DotQ4_0(int64_t n, const void* w, const void* a);
}  // namespace r1d::kernels::parity::avx2
