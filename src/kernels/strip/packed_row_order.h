#pragma once
// The arithmetic of the products on weights packed at load (packed_gemm.h), as portable scalar
// code: the specification those kernels match bit for bit, and what tests compare them with.
//
// Row order: for each row and token, the exact integer sum of a whole block's products (for
// Q4_K and Q6_K: of each sub-block's, times its integer scale, summed over the super-block),
// then one fused multiply-add per block into a single float accumulator:
//   Q8_0, Q5_0: acc = fma(d_w * d_a, sum_i q_i a_i, acc)
//   Q6_K:       acc = fma(d_w * d_a, sum_j scale_j sum_{i in j} (q_i - 32) a_i, acc)
//   Q4_K:       acc = fma(d_w * d_a, sum_j scale_j sum_{i in j} q_i a_i, acc)
//               acc = fma(-d_a * dmin_w, sum_j min_j sum_{i in j} a_i, acc)
// llama.cpp's x86 order (parity/cpu_reference_order.h) instead rounds 8 lane sums per block
// and applies Q4_K/Q6_K scales per group of 4 products; that costs a second multiply
// instruction per 64 products (or a float FMA per 4), which bounds prefill and batched decode.
// The two orders differ by float rounding only (the row order rounds less often); both are
// batch-invariant. The file-layout products (`r1d ... --no-pack`) keep llama.cpp's order.
#include <cstdint>

#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels::strip {

// The row-order dot of one weight row (file layout, tensor::DType `type`) with one row of its
// activations (Q8_K for Q4_K / Q6_K, Q8_0 for Q8_0 / Q5_0), or nullptr for other types.
parity::VecDotFn GetRowOrderDot(int type);

}  // namespace r1d::kernels::strip
