// Kernel tables per type and instruction set. Each ISA's table starts as a copy of the one below
// it and overrides what has a faster version, so every entry is always filled.
#include <array>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ops.h"
#include "kernels/ref/ref_kernels.h"

namespace r1d::kernels {
namespace {

using tensor::DType;

constexpr int kNumTypes = 13;
using Table = std::array<TypeKernels, kNumTypes>;

#define R1D_REF_ENTRY(Name, vec_type)                                                             \
  TypeKernels {                                                                                   \
    DType::k##Name, vec_type, ref::DequantizeRow##Name, ref::QuantizeRow##Name, ref::VecDot##Name \
  }

Table ScalarTable() {
  return Table{{
      R1D_REF_ENTRY(F32, DType::kF32),
      R1D_REF_ENTRY(F16, DType::kF16),
      R1D_REF_ENTRY(BF16, DType::kBF16),
      R1D_REF_ENTRY(Q4_0, DType::kQ8_0),
      R1D_REF_ENTRY(Q4_1, DType::kQ8_1),
      R1D_REF_ENTRY(Q5_0, DType::kQ8_0),
      R1D_REF_ENTRY(Q5_1, DType::kQ8_1),
      R1D_REF_ENTRY(Q8_0, DType::kQ8_0),
      R1D_REF_ENTRY(Q8_1, DType::kQ8_1),
      R1D_REF_ENTRY(Q4_K, DType::kQ8_K),
      R1D_REF_ENTRY(Q5_K, DType::kQ8_K),
      R1D_REF_ENTRY(Q6_K, DType::kQ8_K),
      R1D_REF_ENTRY(Q8_K, DType::kQ8_K),
  }};
}
#undef R1D_REF_ENTRY

TypeKernels* Find(Table& table, DType type) {
  for (TypeKernels& k : table) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

struct Tables {
  std::array<Table, 3> by_isa;
};

// Overrides the entries given (nullptr keeps the inherited one).
void Set(Table& table, DType type, decltype(TypeKernels::dequantize_row) dequantize,
         decltype(TypeKernels::quantize_row) quantize, decltype(TypeKernels::vec_dot) vec_dot) {
  TypeKernels* k = Find(table, type);
  if (dequantize != nullptr) k->dequantize_row = dequantize;
  if (quantize != nullptr) k->quantize_row = quantize;
  if (vec_dot != nullptr) k->vec_dot = vec_dot;
}

void InstallAvx2(Table& t) {
  Set(t, DType::kF32, nullptr, nullptr, avx2::VecDotF32);
  Set(t, DType::kF16, avx2::DequantizeRowF16, avx2::QuantizeRowF16, avx2::VecDotF16);
  Set(t, DType::kBF16, avx2::DequantizeRowBF16, avx2::QuantizeRowBF16, avx2::VecDotBF16);
  Set(t, DType::kQ4_0, nullptr, nullptr, avx2::VecDotQ4_0);
  Set(t, DType::kQ4_1, nullptr, nullptr, avx2::VecDotQ4_1);
  Set(t, DType::kQ5_0, nullptr, nullptr, avx2::VecDotQ5_0);
  Set(t, DType::kQ5_1, nullptr, nullptr, avx2::VecDotQ5_1);
  Set(t, DType::kQ8_0, avx2::DequantizeRowQ8_0, avx2::QuantizeRowQ8_0, avx2::VecDotQ8_0);
  Set(t, DType::kQ8_1, nullptr, avx2::QuantizeRowQ8_1, nullptr);
  Set(t, DType::kQ4_K, nullptr, nullptr, avx2::VecDotQ4_K);
  Set(t, DType::kQ5_K, nullptr, nullptr, avx2::VecDotQ5_K);
  Set(t, DType::kQ6_K, nullptr, nullptr, avx2::VecDotQ6_K);
  Set(t, DType::kQ8_K, nullptr, avx2::QuantizeRowQ8_K, nullptr);
}

void InstallAvx512(Table& t) {
  const bool vnni = CpuHasAvx512Vnni();
  Set(t, DType::kF32, nullptr, nullptr, avx512::VecDotF32);
  Set(t, DType::kF16, avx512::DequantizeRowF16, avx512::QuantizeRowF16, avx512::VecDotF16);
  Set(t, DType::kBF16, avx512::DequantizeRowBF16, avx512::QuantizeRowBF16,
      CpuHasAvx512Bf16() ? avx512::VecDotBF16Bf16 : avx512::VecDotBF16);
  Set(t, DType::kQ4_0, nullptr, nullptr, vnni ? avx512::VecDotQ4_0Vnni : avx512::VecDotQ4_0);
  Set(t, DType::kQ8_0, avx512::DequantizeRowQ8_0, avx512::QuantizeRowQ8_0,
      vnni ? avx512::VecDotQ8_0Vnni : avx512::VecDotQ8_0);
  Set(t, DType::kQ4_K, avx512::DequantizeRowQ4_K, nullptr, avx512::VecDotQ4_K);
  Set(t, DType::kQ5_K, nullptr, nullptr, avx512::VecDotQ5_K);
  Set(t, DType::kQ6_K, avx512::DequantizeRowQ6_K, nullptr, avx512::VecDotQ6_K);
  Set(t, DType::kQ8_K, avx512::DequantizeRowQ8_K, nullptr, nullptr);
}

Tables BuildTables() {
  Tables t;
  t.by_isa[0] = ScalarTable();
  t.by_isa[1] = t.by_isa[0];
  InstallAvx2(t.by_isa[1]);
  t.by_isa[2] = t.by_isa[1];
  InstallAvx512(t.by_isa[2]);
  return t;
}

const Tables& AllTables() {
  static const Tables tables = BuildTables();
  return tables;
}

}  // namespace

const TypeKernels* GetKernels(tensor::DType type, Isa isa) {
  // Never hand out code this CPU cannot run.
  static const Isa hardware_max = AvailableIsas().back();
  if (static_cast<int>(isa) > static_cast<int>(hardware_max)) isa = hardware_max;
  const Table& table = AllTables().by_isa[static_cast<int>(isa)];
  for (const TypeKernels& k : table) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

const TypeKernels* GetKernels(tensor::DType type) { return GetKernels(type, BestIsa()); }

}  // namespace r1d::kernels
