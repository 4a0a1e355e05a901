#pragma once
// Weights repacked once, at load time, into the strip layout of the strip products
// (strip_gemm.h): 16 rows interleaved 4 quants at a time, so one vpdpbusd yields the llama.cpp
// lane sums of 16 rows. The products on them need no per-call packing, so the same kernels
// serve every batch size, single-token decode included. Each type has two products on the
// same packed bytes: llama.cpp's order (every output bit-identical to the per-row dot of
// cpu_reference_order.h; the default) and the row order of packed_row_order.h (about half
// the multiply instructions: faster prefill and batched decode, different float rounding).
//
// The packed copy keeps the file's bits per weight: nibbles stay nibbles, scales stay in their
// stored width (only transposed, and the 6-bit Q4_K scales unpacked to bytes), so decode reads
// about as many bytes as from the file, in one sequential stream per 16 rows.
//
// Layout: the matrix is a sequence of strips of 16 rows (the last padded with zero rows), each
// strip a sequence of `PackedBlockBytes` per block of `PackedBlockElems` elements of its rows.
// A strip takes 16 * PackedRowBytes bytes, so rows r0.. with r0 a multiple of 16 start at
// packed + r0 * PackedRowBytes: the matrix products' 16-row tiles address it like the file.
#include <cstdint>

#include "kernels/parity/quant_gemm.h"

namespace r1d::kernels::strip {

// Whether matrices of this type (tensor::DType value) with rows of n elements can be packed on
// this CPU (a product exists for them).
bool CanPack(int type, int64_t n);

// Bytes per row of the packed layout (a strip is 16 rows); 0 where CanPack is false.
int64_t PackedRowBytes(int type, int64_t n);

// Bytes of the packed copy of a matrix of `rows` rows (rounded up to whole strips).
int64_t PackedMatrixBytes(int type, int64_t n, int64_t rows);

// Packs strips [s0, s1) of the file-layout matrix w (`rows` rows of n elements) into `packed`,
// the start of the whole packed matrix. Disjoint strip ranges may be packed concurrently.
void PackStrips(int type, int64_t n, const void* w, int64_t rows, int64_t s0, int64_t s1,
                void* packed);

// The product on packed weights (same contract as parity::QuantGemm; `run` takes the packed
// rows and PackedRowBytes as the row stride, rows starting at a multiple of 16) in llama.cpp's
// order or in row order, or nullptr.
const parity::QuantGemm* GetPackedGemm(int type, bool row_order = false);

namespace avx512 {
// AVX-512 F + BW + VNNI (packed_kquant_avx512.cc, packed_kquant_row_avx512.cc,
// packed_q8_0_avx512.cc, packed_q5_0_avx512.cc).
struct PackedFormat {
  int64_t block_elems;
  int64_t block_bytes;  // per strip of 16 rows
  void (*pack)(int64_t n, const uint8_t* w, int64_t w_row_bytes, int rows, uint8_t* strip);
  parity::QuantGemm gemm;      // llama.cpp's order
  parity::QuantGemm row_gemm;  // row order
};
extern const parity::QuantGemm kRowOrderGemmQ4_K;  // packed_kquant_row_avx512.cc
extern const parity::QuantGemm kRowOrderGemmQ6_K;
extern const PackedFormat kPackedQ4_K;
extern const PackedFormat kPackedQ6_K;
extern const PackedFormat kPackedQ8_0;
extern const PackedFormat kPackedQ5_0;
}  // namespace avx512

}  // namespace r1d::kernels::strip
