#pragma once
// Blocked products of float weights (F16, F32; BF16 where the CPU has AVX512_BF16) for the
// dense matrix products, in the order llama.cpp's CPU backend computes each output
// (parity/cpu_reference_order.h): tinyBLAS (one 16-lane accumulator per output) for batches
// where llama.cpp hands the product to it, vec_dot otherwise (F16/F32: four 16-lane
// accumulators over 64-element steps; BF16: two vdpbf16ps accumulators). Every output has the
// bits of the per-row dot product; the speed comes from register tiles that share each
// weight load and conversion between tokens, and each activation load between rows, not
// from any reordering. Activations arrive in the weight's vec-dot type (F16 weights take
// F16-rounded activations, as llama.cpp converts them) and are prepared once (as F32; BF16
// stays BF16).
#include <cstdint>

#include "kernels/parity/quant_gemm.h"
#include "tensor/dtype.h"

namespace r1d::kernels {

// The product for weights of `type` in tinyBLAS order (`tiny`) or vec_dot order on this CPU,
// or nullptr (no such product: the per-row dots apply). The tinyBLAS product needs rows whose
// length is a multiple of TinyBlasStep(type).
const parity::QuantGemm* GetFloatGemm(tensor::DType type, bool tiny);

// Elements per tinyBLAS step for weights of `type` on this CPU: 32 for BF16 (vdpbf16ps), 16
// for the others (one 16-lane register).
int64_t TinyBlasStep(tensor::DType type);

namespace avx512 {
// AVX-512 F (float_gemm_avx512.cc).
extern const parity::QuantGemm kGemmF16Tiny;
extern const parity::QuantGemm kGemmF16Vec;
extern const parity::QuantGemm kGemmF32Tiny;
extern const parity::QuantGemm kGemmF32Vec;
// AVX-512 F + BF16.
extern const parity::QuantGemm kGemmBF16Tiny;
extern const parity::QuantGemm kGemmBF16Vec;
}  // namespace avx512

}  // namespace r1d::kernels
