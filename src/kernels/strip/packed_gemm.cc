#include "kernels/strip/packed_gemm.h"

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace r1d::kernels::strip {
namespace {

const avx512::PackedFormat* Format(int type) {
  static const bool vnni = BestIsa() >= Isa::kAvx512 && CpuHasAvx512Vnni();
  if (!vnni) return nullptr;
  switch (static_cast<tensor::DType>(type)) {
    case tensor::DType::kQ4_K:
      return &avx512::kPackedQ4_K;
    case tensor::DType::kQ6_K:
      return &avx512::kPackedQ6_K;
    case tensor::DType::kQ8_0:
      return &avx512::kPackedQ8_0;
    case tensor::DType::kQ5_0:
      return &avx512::kPackedQ5_0;
    default:
      return nullptr;
  }
}

constexpr int64_t kStripRows = 16;

}  // namespace

bool CanPack(int type, int64_t n) {
  const avx512::PackedFormat* f = Format(type);
  return f != nullptr && n > 0 && n % f->block_elems == 0;
}

int64_t PackedRowBytes(int type, int64_t n) {
  if (!CanPack(type, n)) return 0;
  const avx512::PackedFormat* f = Format(type);
  return n / f->block_elems * f->block_bytes / kStripRows;
}

int64_t PackedMatrixBytes(int type, int64_t n, int64_t rows) {
  const int64_t strips = (rows + kStripRows - 1) / kStripRows;
  return strips * kStripRows * PackedRowBytes(type, n);
}

void PackStrips(int type, int64_t n, const void* w, int64_t rows, int64_t s0, int64_t s1,
                void* packed) {
  const avx512::PackedFormat* f = Format(type);
  const int64_t w_row_bytes = tensor::RowBytes(static_cast<tensor::DType>(type), n);
  const int64_t strip_bytes = kStripRows * PackedRowBytes(type, n);
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t r0 = s * kStripRows;
    const int here = static_cast<int>(rows - r0 < kStripRows ? rows - r0 : kStripRows);
    f->pack(n, static_cast<const uint8_t*>(w) + r0 * w_row_bytes, w_row_bytes, here,
            static_cast<uint8_t*>(packed) + s * strip_bytes);
  }
}

const parity::QuantGemm* GetPackedGemm(int type, bool row_order) {
  const avx512::PackedFormat* f = Format(type);
  if (f == nullptr) return nullptr;
  return row_order ? &f->row_gemm : &f->gemm;
}

}  // namespace r1d::kernels::strip
