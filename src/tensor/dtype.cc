#include "tensor/dtype.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/status.h"
#include "tensor/quant_blocks.h"

namespace r1d::tensor {
namespace {

constexpr int64_t kQK = 32;    // elements per block of the classic quants
constexpr int64_t kQKK = 256;  // elements per super-block of the k-quants

// Block sizes follow the GGUF/ggml block structs (fp16 scales are 2 bytes).
constexpr std::array<DTypeInfo, 31> kTypes = {{
    {DType::kF32, "f32", 1, 4, true},
    {DType::kF16, "f16", 1, 2, true},
    {DType::kQ4_0, "q4_0", kQK, 2 + kQK / 2, true},
    {DType::kQ4_1, "q4_1", kQK, 4 + kQK / 2, true},
    {DType::kQ5_0, "q5_0", kQK, 2 + 4 + kQK / 2, true},
    {DType::kQ5_1, "q5_1", kQK, 4 + 4 + kQK / 2, true},
    {DType::kQ8_0, "q8_0", kQK, 2 + kQK, true},
    {DType::kQ8_1, "q8_1", kQK, 4 + kQK, false},
    {DType::kQ2_K, "q2_K", kQKK, kQKK / 16 + kQKK / 4 + 4, false},
    {DType::kQ3_K, "q3_K", kQKK, kQKK / 8 + kQKK / 4 + 12 + 2, false},
    {DType::kQ4_K, "q4_K", kQKK, 4 + 12 + kQKK / 2, true},
    {DType::kQ5_K, "q5_K", kQKK, 4 + 12 + kQKK / 8 + kQKK / 2, true},
    {DType::kQ6_K, "q6_K", kQKK, kQKK / 2 + kQKK / 4 + kQKK / 16 + 2, true},
    {DType::kQ8_K, "q8_K", kQKK, 4 + kQKK + kQKK / 16 * 2, false},
    {DType::kIQ2_XXS, "iq2_xxs", kQKK, 2 + kQKK / 8 * 2, false},
    {DType::kIQ2_XS, "iq2_xs", kQKK, 2 + kQKK / 8 * 2 + kQKK / 32, false},
    {DType::kIQ3_XXS, "iq3_xxs", kQKK, 2 + 3 * (kQKK / 8), false},
    {DType::kIQ1_S, "iq1_s", kQKK, 2 + kQKK / 8 + kQKK / 16, false},
    {DType::kIQ4_NL, "iq4_nl", kQK, 2 + kQK / 2, false},
    {DType::kIQ3_S, "iq3_s", kQKK, 2 + 13 * (kQKK / 32) + kQKK / 64, false},
    {DType::kIQ2_S, "iq2_s", kQKK, 2 + kQKK / 4 + kQKK / 16, false},
    {DType::kIQ4_XS, "iq4_xs", kQKK, 2 + 2 + kQKK / 64 + kQKK / 2, false},
    {DType::kI8, "i8", 1, 1, false},
    {DType::kI16, "i16", 1, 2, false},
    {DType::kI32, "i32", 1, 4, false},
    {DType::kI64, "i64", 1, 8, false},
    {DType::kF64, "f64", 1, 8, false},
    {DType::kIQ1_M, "iq1_m", kQKK, kQKK / 8 + kQKK / 16 + kQKK / 32, false},
    {DType::kBF16, "bf16", 1, 2, true},
    {DType::kTQ1_0, "tq1_0", kQKK, 2 + 4 * 13 + kQKK / 64, false},
    {DType::kTQ2_0, "tq2_0", kQKK, 2 + kQKK / 4, false},
}};

constexpr int64_t BlockBytesOf(DType type) {
  for (const auto& info : kTypes) {
    if (info.type == type) return info.block_bytes;
  }
  return -1;
}

// The table must agree with the block structs the kernels read.
static_assert(BlockBytesOf(DType::kQ4_0) == sizeof(BlockQ4_0));
static_assert(BlockBytesOf(DType::kQ4_1) == sizeof(BlockQ4_1));
static_assert(BlockBytesOf(DType::kQ5_0) == sizeof(BlockQ5_0));
static_assert(BlockBytesOf(DType::kQ5_1) == sizeof(BlockQ5_1));
static_assert(BlockBytesOf(DType::kQ8_0) == sizeof(BlockQ8_0));
static_assert(BlockBytesOf(DType::kQ8_1) == sizeof(BlockQ8_1));
static_assert(BlockBytesOf(DType::kQ4_K) == sizeof(BlockQ4_K));
static_assert(BlockBytesOf(DType::kQ5_K) == sizeof(BlockQ5_K));
static_assert(BlockBytesOf(DType::kQ6_K) == sizeof(BlockQ6_K));
static_assert(BlockBytesOf(DType::kQ8_K) == sizeof(BlockQ8_K));

}  // namespace

std::optional<DTypeInfo> LookupDType(uint32_t raw_id) {
  for (const auto& info : kTypes) {
    if (static_cast<uint32_t>(info.type) == raw_id) return info;
  }
  return std::nullopt;
}

const DTypeInfo& GetDTypeInfo(DType type) {
  for (const auto& info : kTypes) {
    if (info.type == type) return info;
  }
  R1D_CHECK_MSG(false, "unknown DType enumerator");
}

int64_t RowBytes(DType type, int64_t n) {
  const DTypeInfo& info = GetDTypeInfo(type);
  R1D_CHECK(n % info.block_elems == 0);
  return n / info.block_elems * info.block_bytes;
}

std::optional<DType> ParseDType(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& info : kTypes) {
    std::string n = info.name;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (n == lower) return info.type;
  }
  return std::nullopt;
}

}  // namespace r1d::tensor
