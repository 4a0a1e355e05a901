#pragma once
// Quantized matrix products for batches of many tokens (prefill, batched decode), with every
// output bit-identical to the per-row llama.cpp-order dot of cpu_reference_order.h, like the
// parity products, but shaped for arithmetic throughput.
//
// Each call copies 16 weight rows at a time into a per-thread buffer with the rows interleaved
// 4 quants at a time, so one vpdpbusd multiplies 4 weights of each of 16 rows by the same 4
// activation bytes of one token, and its 16 results are exactly the 32-bit lane sums that
// llama.cpp's x86 kernels form for those 4 quants of those 16 rows. The per-lane work that
// follows (scale products with vpdpwssd, one fused multiply-add per lane and block, the
// pairwise lane fold) is then done for 16 rows per instruction instead of 8 lanes of one row.
// MatMul uses them from MinStripTokens(type) tokens up, where the interleaving of 16 rows is
// shared by enough tokens to pay for itself.
#include <cstdint>

#include "kernels/parity/quant_gemm.h"

namespace r1d::kernels::strip {

// The smallest batch that takes the strip product of a weight type: where it overtakes the
// parity product in bench/matmul_bench on a matrix streamed from memory (2 threads,
// 1536 x 151936, the AVX-512 VNNI machine of bench/RESULTS.md). Below it, packing 16 rows
// costs more than the strip saves. Types without a strip product: never.
int64_t MinStripTokens(int type);

// The strip product for a weight type (tensor::DType value) on this CPU, or nullptr. Same
// function table as the parity products (prepare each converted activation row once, then run
// on any disjoint row ranges concurrently), with its own prepared layout.
const parity::QuantGemm* GetStripGemm(int type);

namespace avx512 {
// AVX-512 F + BW + VNNI (strip_legacy_avx512.cc, strip_kquant_avx512.cc).
extern const parity::QuantGemm kStripQ8_0;
extern const parity::QuantGemm kStripQ5_0;
extern const parity::QuantGemm kStripQ4_0;
extern const parity::QuantGemm kStripQ4_K;
extern const parity::QuantGemm kStripQ6_K;
}  // namespace avx512

}  // namespace r1d::kernels::strip
