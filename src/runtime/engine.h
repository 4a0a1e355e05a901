#pragma once
// The serving engine: continuous batching over many requests. One engine thread loops
// Step() = schedule -> one batched forward pass for every running sequence (decode tokens and
// chunks of prompts together) -> sample -> hand each request its token. Requests join and leave
// the batch at every step. A paged KV cache is shared by all sequences; when it is full, new
// work waits, or the youngest running sequence is preempted (its blocks freed) and recomputed
// later. Full prompt blocks are cached by content hash, so a multi-turn chat that resends its
// history does not recompute it.
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "models/model.h"
#include "runtime/sampler.h"

namespace r1d::runtime {

struct EngineOptions {
  int64_t n_ctx = 4096;    // most positions one sequence may use (prompt + output)
  int parallel = 4;        // most sequences running at once
  int64_t max_queue = 64;  // most requests waiting; beyond it Submit fails (kResourceExhausted)
  int64_t prefill_chunk = 256;   // most prompt tokens of one sequence per step
  int64_t step_tokens = 512;     // most tokens in one forward pass
  int64_t kv_block_tokens = 16;  // positions per KV block
  int64_t kv_blocks = 0;         // blocks in the shared cache; 0: parallel * n_ctx worth
  int threads = 0;               // 0: all cores
};

struct EngineRequest {
  std::vector<int32_t> prompt;
  int64_t max_tokens = -1;  // -1: until an end token or the context limit
  SamplingParams sampling;
  bool logprobs = false;         // fill TokenEvent::logprob (costs a pass over the vocabulary)
  int top_logprobs = 0;          // alternatives reported per token (0..20); implies logprobs
  std::set<int32_t> end_tokens;  // generation stops after one of these (it is reported)
};

enum class Finish { kNone, kLength, kEndToken, kContextFull, kCancelled, kError };
const char* FinishName(Finish f);

struct TokenEvent {
  uint64_t request_id = 0;
  int32_t token = -1;  // -1 in a final event that carries no token
  float logprob = 0;   // natural log of the token's probability (softmax of raw logits),
                       // when the request asked for logprobs
  std::vector<std::pair<int32_t, float>> top_logprobs;  // (id, logprob), most likely first
  Finish finish = Finish::kNone;                        // set on the last event of the request
  std::string error;                                    // when finish == kError
  int64_t prompt_tokens = 0;                            // on the last event
  int64_t cached_prompt_tokens = 0;  // prompt tokens reused from the prefix cache (last event)
  int64_t completion_tokens = 0;     // on the last event
};

// Called on the engine thread for every generated token; the event with finish != kNone is the
// last call for that request. It must return quickly (queue the event for the connection; never
// block on the network).
using TokenSink = std::function<void(const TokenEvent&)>;

struct EngineStats {
  int64_t running = 0;         // sequences in the batch
  int64_t waiting = 0;         // requests queued
  int64_t kv_blocks_used = 0;  // blocks held by sequences (0 when idle)
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_cached = 0;  // blocks held only by the prefix cache (reclaimable at once)
  uint64_t steps = 0;            // forward passes so far
  uint64_t prompt_tokens = 0;    // totals since start
  uint64_t generated_tokens = 0;
  uint64_t preemptions = 0;
};

class Engine {
 public:
  // Starts the engine thread. The model must outlive the engine.
  static Result<std::unique_ptr<Engine>> Create(models::Model& model, const EngineOptions& options);
  ~Engine();  // cancels what is left and joins the thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request; thread-safe. Errors: empty prompt, a token id out of range, prompt longer
  // than n_ctx (kInvalidArgument); queue full (kResourceExhausted); draining (kUnavailable).
  Result<uint64_t> Submit(EngineRequest request, TokenSink sink);
  // Thread-safe. The request's sink receives its final event (Finish::kCancelled) within one
  // step and its KV blocks are freed. Unknown or finished ids are ignored.
  void Cancel(uint64_t request_id);
  // Stops accepting new requests (Submit answers kUnavailable); running ones continue.
  void StopAccepting();
  // True when nothing is running or waiting.
  bool Idle() const;
  EngineStats Stats() const;
  const EngineOptions& options() const { return options_; }

 private:
  class Impl;
  explicit Engine(const EngineOptions& options);
  EngineOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1d::runtime
