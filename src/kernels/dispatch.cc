// Kernel tables per type and instruction set. Each ISA's table starts as a copy of the one below
// it and overrides what has a faster version, so every entry is always filled.
#include <array>

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

[[maybe_unused]] TypeKernels* Find(Table& table, DType type) {
  for (TypeKernels& k : table) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

struct Tables {
  std::array<Table, 3> by_isa;
};

Tables BuildTables() {
  Tables t;
  t.by_isa[0] = ScalarTable();
  t.by_isa[1] = t.by_isa[0];
  t.by_isa[2] = t.by_isa[1];
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
