#pragma once
// DeepSeek mixture-of-experts feed-forward block: router (softmax or sigmoid gating, selection
// bias, group-limited top-k, weight normalization and scaling), routed experts grouped by
// expert so each expert's weights are read once per batch, and the shared experts.
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "formats/gguf_reader.h"
#include "kernels/matmul.h"
#include "models/deepseek2_hparams.h"

namespace r1d::models {

// A 3-D expert tensor {n_in, n_out, n_expert}: expert e is the n_out x n_in matrix starting at
// data + e * n_out * row_bytes (and, packed as one stack of rows, at packed + e * n_out *
// packed_row_bytes).
struct ExpertTensor {
  kernels::WeightView first;  // expert 0
  int64_t n_expert = 0;
  kernels::WeightView Expert(int64_t e) const {
    kernels::WeightView w = first;
    w.data = static_cast<const uint8_t*>(first.data) + e * first.n_out * first.row_bytes();
    if (first.packed != nullptr) {
      w.packed =
          static_cast<const uint8_t*>(first.packed) + e * first.n_out * first.packed_row_bytes;
    }
    return w;
  }
};

// Looks up `name` and checks its shape is exactly {n_in, n_out, n_expert}.
Result<ExpertTensor> LoadExpertTensor(const formats::GgufFile& f, const std::string& name,
                                      int64_t n_in, int64_t n_out, int64_t n_expert);

struct MoeWeights {
  kernels::WeightView gate_inp;    // {n_embd, n_expert}
  const float* probs_b = nullptr;  // selection bias (V3), may be null
  ExpertTensor gate, up, down;
  bool has_shared = false;
  kernels::WeightView gate_sh, up_sh, down_sh;
};

// Routing of one token: picks hp.n_expert_used experts from the router logits (overwritten
// with the gate probabilities). ids/weights: n_expert_used entries, best first.
void RouteToken(const Deepseek2HParams& hp, const float* probs_b, float* logits, int32_t* ids,
                float* weights, std::vector<float>& scratch);

class MoeFfn {
 public:
  // out[t] = sum over the chosen experts of weight * expert(x[t]) + shared experts(x[t]).
  // x, out: [n][n_embd].
  void Run(ThreadPool& pool, const Deepseek2HParams& hp, const MoeWeights& w, const float* x,
           int64_t n, float* out);

 private:
  std::vector<float> logits_, weights_, slot_out_, gate_, up_, sh_gate_, sh_up_, sh_out_;
  std::vector<float> route_scratch_;
  std::vector<int32_t> ids_;
  std::vector<std::vector<int32_t>> by_expert_;  // (token * k + slot) for each expert
  std::vector<uint8_t> act_gate_, act_up_, act_down_;
  kernels::MatMulScratch mm_;

  // The chosen experts' products in two parallel regions (up and gate of all, then down of
  // all), for expert types with a blocked product. Same bits as one product at a time.
  void RunExpertsBlocked(ThreadPool& pool, const MoeWeights& w, int64_t n_embd, int64_t ff,
                         int64_t k, const uint8_t* act_gate, int64_t gate_bytes, int64_t up_bytes);
  std::vector<kernels::MatMulScratch> expert_scratch_;
  std::vector<kernels::PreparedProduct> products_;
  std::vector<int32_t> active_, first_row_, tokens_all_;
  std::vector<float> gate_all_, up_all_, down_all_;
};

// Activations converted to a weight's vec-dot type as llama.cpp does (Q8_0 with its x86
// rounding): one row, or n rows into `out` (returns the bytes per row).
void ConvertRow(tensor::DType type, const float* x, void* dst, int64_t n);
int64_t ConvertRows(ThreadPool& pool, tensor::DType weight_type, const float* x, int64_t n,
                    int64_t n_in, std::vector<uint8_t>& out);

// y[i][r] = W row r . act row (rows ? rows[i] : i) for i in [0, m), activations already
// converted. vec_order: always the per-row vec_dot order (llama.cpp's mul_mat_id, whatever the
// number of tokens an expert gets); otherwise kernels::MatMul's choice.
void PreparedMatMul(ThreadPool& pool, const kernels::WeightView& w, const uint8_t* act,
                    int64_t act_row_bytes, const int32_t* rows, int64_t m, float* y,
                    bool vec_order);

// Dense SwiGLU FFN (leading blocks and shared experts): out = down(silu(gate x) * up x).
void DenseFfn(ThreadPool& pool, const kernels::WeightView& gate, const kernels::WeightView& up,
              const kernels::WeightView& down, const float* x, int64_t n, float* out,
              std::vector<float>& g, std::vector<float>& u, kernels::MatMulScratch& mm);

}  // namespace r1d::models
