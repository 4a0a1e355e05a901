// Run-time CPU feature detection for kernel dispatch.
#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/ops.h"

namespace r1d::kernels {
namespace {

bool CpuHasAvx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

bool CpuHasAvx512() {
  return CpuHasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

// R1D_MAX_ISA=scalar|avx2|avx512 caps the dispatch (debugging, comparing kernels end to end).
Isa MaxIsaFromEnv() {
  const char* v = std::getenv("R1D_MAX_ISA");
  if (v == nullptr) return Isa::kAvx512;
  if (std::strcmp(v, "scalar") == 0) return Isa::kScalar;
  if (std::strcmp(v, "avx2") == 0) return Isa::kAvx2;
  return Isa::kAvx512;
}

// The CPUID family (base plus extended), e.g. 0x19 for AMD Zen 3/4, 0x1A for Zen 5.
int CpuFamily() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return 0;
  const int base = static_cast<int>((eax >> 8) & 0xF);
  return base == 0xF ? base + static_cast<int>((eax >> 20) & 0xFF) : base;
}

}  // namespace

bool SoftwarePrefetchPays() {
  static const bool pays = [] {
    if (const char* v = std::getenv("R1D_SOFTWARE_PREFETCH")) return std::strcmp(v, "0") != 0;
    return !(__builtin_cpu_is("amd") && CpuFamily() == 0x19);
  }();
  return pays;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> isas = {Isa::kScalar};
  if (CpuHasAvx2()) isas.push_back(Isa::kAvx2);
  if (CpuHasAvx512()) isas.push_back(Isa::kAvx512);
  return isas;
}

Isa BestIsa() {
  static const Isa best = [] {
    const Isa cap = MaxIsaFromEnv();
    Isa isa = Isa::kScalar;
    for (Isa i : AvailableIsas()) {
      if (static_cast<int>(i) <= static_cast<int>(cap)) isa = i;
    }
    return isa;
  }();
  return best;
}

bool CpuHasAvx512Vnni() { return CpuHasAvx512() && __builtin_cpu_supports("avx512vnni"); }
bool CpuHasAvx512Bf16() { return CpuHasAvx512() && __builtin_cpu_supports("avx512bf16"); }

}  // namespace r1d::kernels
