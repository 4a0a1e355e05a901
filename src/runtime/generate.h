#pragma once
// One sequence, start to finish: prefill the prompt, then sample token by token. The server's
// batched engine builds on the same model API; this is the path `r1d generate` uses.
#include <cstdint>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "models/model.h"
#include "runtime/sampler.h"

namespace r1d::runtime {

struct GenerateOptions {
  std::vector<int32_t> prompt;
  int64_t n_predict = 16;       // < 0: until end of generation or context
  int64_t n_ctx = 0;            // positions of the sequence state
  int64_t prefill_chunk = 512;  // prompt tokens per forward pass
  SamplingParams sampling;
  int n_probs = 0;               // top probabilities to record per step
  std::set<int32_t> end_tokens;  // generation stops after one of these (it is kept)
};

enum class FinishReason { kLength, kEndToken, kContextFull, kStopped };

struct GenerateResult {
  std::vector<int32_t> generated;
  std::vector<std::vector<std::pair<int32_t, float>>> top_probs;  // one per generated token
  FinishReason finish = FinishReason::kLength;
};

// on_token is called for each generated token; returning false stops generation.
Result<GenerateResult> Generate(models::Model& model, ThreadPool& pool,
                                const GenerateOptions& options,
                                const std::function<bool(int32_t)>& on_token = nullptr);

}  // namespace r1d::runtime
