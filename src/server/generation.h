#pragma once
// One generation request from submission to its last token, shared by chat and text
// completions: engine events (posted to the connection's strand) are detokenized, checked for
// stop strings, split into reasoning and content, and handed to the route as deltas; the route
// turns them into its own JSON (streamed or collected). A client that disconnects has its
// engine request cancelled at once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/engine.h"
#include "server/context.h"
#include "server/http.h"
#include "server/request_params.h"
#include "server/stop_matcher.h"
#include "tokenizer/reasoning_splitter.h"
#include "tokenizer/tokenizer.h"

namespace r1d::server {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // (id, logprob), most likely first
};

struct GenerationDelta {
  std::string reasoning;
  std::string content;
  std::vector<TokenLogprob> logprobs;  // of the tokens that arrived with this delta
  bool empty() const { return reasoning.empty() && content.empty() && logprobs.empty(); }
};

struct GenerationResult {
  std::string finish_reason;  // "stop" or "length"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cached_tokens = 0;
  std::optional<ApiError> error;  // the engine failed mid-way
};

class Generation : public std::enable_shared_from_this<Generation> {
 public:
  using DeltaFn = std::function<void(GenerationDelta)>;
  using DoneFn = std::function<void(const GenerationResult&)>;

  // Submits the request. On an error (queue full, draining, bad prompt) nothing has been sent
  // and the route answers with the error. Call on the exchange's strand.
  static std::optional<ApiError> Start(ServerContext& ctx, std::shared_ptr<Exchange> exchange,
                                       GenerationSpec spec, const Request& request,
                                       DeltaFn on_delta, DoneFn on_done);

  Generation(ServerContext& ctx, std::shared_ptr<Exchange> exchange, GenerationSpec spec,
             std::chrono::steady_clock::time_point received, DeltaFn on_delta, DoneFn on_done);

 private:
  void OnEvent(const runtime::TokenEvent& event);
  void OnDisconnect();
  void Emit(const std::string& text);
  void Finish(const std::string& reason, std::optional<ApiError> error);
  void Release();

  ServerContext& ctx_;
  std::shared_ptr<Exchange> exchange_;
  GenerationSpec spec_;
  std::chrono::steady_clock::time_point received_;
  std::chrono::steady_clock::time_point last_token_;
  DeltaFn on_delta_;
  DoneFn on_done_;
  tokenizer::StreamDetokenizer detok_;
  tokenizer::ReasoningSplitter splitter_;
  StopMatcher stop_;
  GenerationDelta pending_;
  uint64_t request_id_ = 0;
  int64_t completion_tokens_ = 0;
  int64_t reasoning_tokens_ = 0;
  int64_t cached_tokens_ = 0;
  bool first_token_seen_ = false;
  bool done_ = false;
};

}  // namespace r1d::server
