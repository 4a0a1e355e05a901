#include "kernels/attention.h"

#include <algorithm>

#include "core/fp16.h"
#include "kernels/elementwise.h"
#include "kernels/ops.h"

namespace r1d::kernels {

void CausalAttention(ThreadPool& pool, const AttentionShape& shape, const KvView& kv,
                     const float* q, int64_t n, int64_t pos0, float* out,
                     std::vector<std::vector<float>>& scratch) {
  const int64_t D = shape.head_dim;
  const int64_t q_dim = shape.n_head * D;
  const int64_t group = shape.n_head / shape.n_head_kv;
  const TypeKernels* f16 = GetKernels(tensor::DType::kF16);
  const int64_t n_kv_max = pos0 + n;
  scratch.resize(pool.size());
  pool.Run([&](int ith, int nth) {
    std::vector<float>& buf = scratch[ith];
    buf.resize(n_kv_max + D + D / 2 + 1);
    float* scores = buf.data();
    float* acc = scores + n_kv_max;
    auto* q16 = reinterpret_cast<uint16_t*>(acc + D);
    for (int64_t job = ith; job < n * shape.n_head; job += nth) {
      const int64_t t = job / shape.n_head, h = job % shape.n_head;
      const int64_t hk = h / group;
      const int64_t n_kv = pos0 + t + 1;  // causal: positions [0, pos0 + t]
      // llama.cpp rounds Q to F16 for the product with the F16 cache, and the probabilities to
      // F16 for the product with V; doing the same keeps results within its tolerance.
      f16->quantize_row(q + t * q_dim + h * D, q16, D);
      for (int64_t j = 0; j < n_kv; ++j) {
        scores[j] = f16->vec_dot(D, kv.k + j * kv.kv_stride + hk * D, q16) * shape.scale;
      }
      Softmax(scores, n_kv);
      std::fill(acc, acc + D, 0.0f);
      for (int64_t j = 0; j < n_kv; ++j) {
        const float p = Fp16ToFp32(Fp32ToFp16(scores[j]));
        const uint16_t* v = kv.v + j * kv.kv_stride + hk * D;
        for (int64_t d = 0; d < D; ++d) acc[d] += p * Fp16ToFp32(v[d]);
      }
      std::copy(acc, acc + D, out + t * q_dim + h * D);
    }
  });
}

}  // namespace r1d::kernels
