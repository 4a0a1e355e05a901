#pragma once
// Tensor element types with the numeric ids GGUF files use (ggml_type), and their block
// geometry: a row of n elements takes n / block_elems blocks of block_bytes each.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace r1d::tensor {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
};

struct DTypeInfo {
  DType type;
  const char* name;     // as llama.cpp prints it, e.g. "q4_K"
  int64_t block_elems;  // elements per block (1 for plain types)
  int64_t block_bytes;  // bytes per block
  bool supported;       // we have kernels for it (weights may use it)
};

// Info for a raw type id from a file; nullopt for ids no GGUF writer has ever used.
std::optional<DTypeInfo> LookupDType(uint32_t raw_id);
const DTypeInfo& GetDTypeInfo(DType type);
inline const char* DTypeName(DType type) { return GetDTypeInfo(type).name; }

// Bytes for one row of n elements; n must be a multiple of block_elems (CHECKed).
int64_t RowBytes(DType type, int64_t n);

// Parses names such as "f16", "q8_0", "q4_k" (case-insensitive).
std::optional<DType> ParseDType(std::string_view name);

}  // namespace r1d::tensor
