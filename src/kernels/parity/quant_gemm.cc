#include "kernels/parity/quant_gemm.h"

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace r1d::kernels::parity {

const QuantGemm* GetQuantGemm(int type) {
  static const bool avx512 = BestIsa() >= Isa::kAvx512;
  if (!avx512) return nullptr;
  switch (static_cast<tensor::DType>(type)) {
    case tensor::DType::kQ4_K:
      return &avx512::kGemmQ4_K;
    case tensor::DType::kQ5_K:
      return &avx512::kGemmQ5_K;
    case tensor::DType::kQ6_K:
      return &avx512::kGemmQ6_K;
    case tensor::DType::kQ8_0:
      return CpuHasAvx512Vnni() ? &avx512::kGemmQ8_0 : nullptr;
    case tensor::DType::kQ5_0:
      return CpuHasAvx512Vnni() ? &avx512::kGemmQ5_0 : nullptr;
    case tensor::DType::kQ4_0:
      return CpuHasAvx512Vnni() ? &avx512::kGemmQ4_0 : nullptr;
    default:
      return nullptr;
  }
}

}  // namespace r1d::kernels::parity
