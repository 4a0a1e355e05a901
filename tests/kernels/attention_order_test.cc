// The value product of attention (f16_order::WeightedSumF16) is, for every output, llama.cpp's
// F16 dot product of the softmax weights with that column of V over the padded cells: the
// vec_dot order (4 x 16 lanes per 64-cell step, the lanes folded as (s0 + s2) + (s1 + s3) and
// summed pairwise, the cells past the last whole step added in double) for single tokens, the
// tinyBLAS order for batches. Checked bit for bit against the portable dot products over
// padded arrays, for contexts below, at and past 64 cells.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "kernels/attention_f16_order.h"
#include "kernels/parity/cpu_reference_order.h"

namespace r1d::kernels {
namespace {

TEST(AttentionOrder, WeightedSumIsTheF16DotOfEachColumn) {
  const int64_t dv = 48;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (const parity::FloatKernels* fk :
       {&parity::PortableFloatKernels(), &parity::FastFloatKernels()}) {
    for (bool tiny : {false, true}) {
      for (int64_t n_kv : {5, 63, 64, 65, 70, 100, 128, 131, 200}) {
        const int64_t n_kv_pad =
            (n_kv + f16_order::kKvPad - 1) / f16_order::kKvPad * f16_order::kKvPad;
        // Softmax-like weights and V rows, zero past n_kv (the masked, padded cells).
        std::vector<uint16_t> p16(n_kv_pad, 0), v(n_kv_pad * dv, 0);
        for (int64_t j = 0; j < n_kv; ++j) {
          p16[j] = Fp32ToFp16(std::fabs(normal(rng)) / static_cast<float>(n_kv));
          for (int64_t d = 0; d < dv; ++d) v[j * dv + d] = Fp32ToFp16(normal(rng));
        }
        std::vector<float> acc(64 * dv), fold(dv), out(dv);
        f16_order::WeightedSumF16(
            *fk, tiny, p16.data(), n_kv, n_kv_pad, [&](int64_t j) { return v.data() + j * dv; }, dv,
            acc.data(), fold.data(), out.data());
        std::vector<uint16_t> column(n_kv_pad);
        for (int64_t d = 0; d < dv; ++d) {
          for (int64_t j = 0; j < n_kv_pad; ++j) column[j] = v[j * dv + d];
          const float want = tiny ? parity::TinyBlasDotF16(column.data(), p16.data(), n_kv_pad)
                                  : parity::VecDotF16(column.data(), p16.data(), n_kv_pad);
          ASSERT_EQ(FloatToBits(want), FloatToBits(out[d]))
              << (tiny ? "tinyBLAS" : "vec_dot") << " order, " << n_kv << " cells, column " << d
              << ": " << want << " vs " << out[d];
        }
      }
    }
  }
}

}  // namespace
}  // namespace r1d::kernels
