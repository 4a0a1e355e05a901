#pragma once
// The op API: raw pointers + sizes + dtypes. Knows nothing about models or requests.
//
// Matrix products follow GGUF/ggml storage: a weight W with ne = {n_in, n_out} is n_out rows of
// n_in contiguous elements of its dtype. Before a product the activations are converted once
// into the weight's "vec-dot" type (as llama.cpp does, so results match it): F32 -> F32,
// F16 -> F16, BF16 -> BF16, Q4_0/Q5_0/Q8_0 -> Q8_0, Q4_1/Q5_1 -> Q8_1, Q4_K/Q5_K/Q6_K -> Q8_K.
#include <cstdint>
#include <vector>

#include "tensor/dtype.h"

namespace r1d::kernels {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };  // kAvx512: F+BW+VL+DQ
const char* IsaName(Isa isa);
// The instruction sets this CPU supports (always includes kScalar), lowest first.
std::vector<Isa> AvailableIsas();
Isa BestIsa();
bool CpuHasAvx512Vnni();
bool CpuHasAvx512Bf16();
// Whether the packed products prefetch their weight stream ahead in software (strip/): on AMD
// family 0x19 (Zen 4) one-token decode ran 5-10% faster without it, on Zen 5 it paid
// (bench/RESULTS.md). R1D_SOFTWARE_PREFETCH=0 or 1 overrides, for measuring another CPU.
bool SoftwarePrefetchPays();

struct TypeKernels {
  tensor::DType type;
  tensor::DType vec_dot_type;  // format the activations are converted to
  // Converts n elements of `type` to float. n is a multiple of the block size.
  void (*dequantize_row)(const void* src, float* dst, int64_t n);
  // Converts n floats into `type` (reference rounding as in llama.cpp's *_ref functions for the
  // activation types Q8_0/Q8_1/Q8_K/F16/BF16/F32; for weight types: a valid, simple quantizer).
  void (*quantize_row)(const float* src, void* dst, int64_t n);
  // Dot product of n elements: w in `type`, a in `vec_dot_type`.
  float (*vec_dot)(int64_t n, const void* w, const void* a);
};

// Kernels for `type` using at most `isa` (falls back to a lower ISA where there is no special
// version). Returns nullptr for unsupported types.
const TypeKernels* GetKernels(tensor::DType type, Isa isa);
// The best kernels for this CPU (cached).
const TypeKernels* GetKernels(tensor::DType type);

}  // namespace r1d::kernels
