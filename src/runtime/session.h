#pragma once
// One sequence whose tokens change over time (an interactive chat): setting a new prompt
// re-evaluates only what differs from what the KV state already holds, so a multi-turn chat does
// not recompute its history.
#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "models/model.h"

namespace r1d::runtime {

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(models::Model& model, ThreadPool& pool,
                                                 int64_t n_ctx, int64_t prefill_chunk = 512);

  // Makes the sequence hold exactly `tokens` and leaves the logits of the last one.
  Status SetTokens(const std::vector<int32_t>& tokens);
  // Appends one token and evaluates it.
  Status Append(int32_t token);

  const std::vector<int32_t>& tokens() const { return tokens_; }
  const float* logits() const { return logits_.data(); }
  int64_t n_ctx() const { return state_->capacity(); }
  // Tokens evaluated by the last SetTokens (the rest came from the cache).
  int64_t last_evaluated() const { return last_evaluated_; }

 private:
  Session(models::Model& model, ThreadPool& pool, int64_t chunk)
      : model_(model), pool_(pool), chunk_(chunk) {}
  Status Evaluate(const int32_t* tokens, int64_t n, int64_t pos);

  models::Model& model_;
  ThreadPool& pool_;
  int64_t chunk_;
  std::unique_ptr<models::SequenceState> state_;
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
  int64_t last_evaluated_ = 0;
};

}  // namespace r1d::runtime
