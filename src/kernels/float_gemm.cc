#include "kernels/float_gemm.h"

#include "kernels/ops.h"

namespace r1d::kernels {

const parity::QuantGemm* GetFloatGemm(tensor::DType type, bool tiny) {
  static const bool avx512 = BestIsa() >= Isa::kAvx512;
  if (!avx512) return nullptr;
  switch (type) {
    case tensor::DType::kF16:
      return tiny ? &avx512::kGemmF16Tiny : &avx512::kGemmF16Vec;
    case tensor::DType::kF32:
      return tiny ? &avx512::kGemmF32Tiny : &avx512::kGemmF32Vec;
    case tensor::DType::kBF16:
      if (!CpuHasAvx512Bf16()) return nullptr;
      return tiny ? &avx512::kGemmBF16Tiny : &avx512::kGemmBF16Vec;
    default:
      return nullptr;
  }
}

int64_t TinyBlasStep(tensor::DType type) { return type == tensor::DType::kBF16 ? 32 : 16; }

}  // namespace r1d::kernels
