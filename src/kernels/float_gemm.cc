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
    default:
      return nullptr;
  }
}

}  // namespace r1d::kernels
