#include "kernels/strip/strip_gemm.h"

#include <limits>

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace r1d::kernels::strip {

const parity::QuantGemm* GetStripGemm(int type) {
  static const bool vnni = BestIsa() >= Isa::kAvx512 && CpuHasAvx512Vnni();
  if (!vnni) return nullptr;
  switch (static_cast<tensor::DType>(type)) {
    case tensor::DType::kQ8_0:
      return &avx512::kStripQ8_0;
    case tensor::DType::kQ5_0:
      return &avx512::kStripQ5_0;
    case tensor::DType::kQ4_0:
      return &avx512::kStripQ4_0;
    case tensor::DType::kQ4_K:
      return &avx512::kStripQ4_K;
    case tensor::DType::kQ6_K:
      return &avx512::kStripQ6_K;
    default:
      return nullptr;
  }
}

int64_t MinStripTokens(int type) {
  switch (static_cast<tensor::DType>(type)) {
    case tensor::DType::kQ8_0:
      return 12;
    case tensor::DType::kQ5_0:  // its parity product unpacks high bits per block and token
    case tensor::DType::kQ4_0:
      return 8;
    case tensor::DType::kQ4_K:
      return 20;
    case tensor::DType::kQ6_K:  // its strip product carries an offset load per lane sum
      return 48;
    default:
      return std::numeric_limits<int64_t>::max();
  }
}

}  // namespace r1d::kernels::strip
