#include "server/generation.h"

namespace r1d::server {
namespace {

tokenizer::ReasoningSplitterOptions SplitOptions(const GenerationSpec& spec) {
  tokenizer::ReasoningSplitterOptions o;
  o.enabled = spec.split_reasoning;
  o.start_in_reasoning = spec.start_in_reasoning;
  return o;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

Generation::Generation(ServerContext& ctx, std::shared_ptr<Exchange> exchange, GenerationSpec spec,
                       std::chrono::steady_clock::time_point received, DeltaFn on_delta,
                       DoneFn on_done)
    : ctx_(ctx),
      exchange_(std::move(exchange)),
      spec_(std::move(spec)),
      received_(received),
      on_delta_(std::move(on_delta)),
      on_done_(std::move(on_done)),
      detok_(*ctx.tokenizer),
      splitter_(SplitOptions(spec_)),
      stop_(spec_.stop) {}

std::optional<ApiError> Generation::Start(ServerContext& ctx, std::shared_ptr<Exchange> exchange,
                                          GenerationSpec spec, const Request& request,
                                          DeltaFn on_delta, DoneFn on_done) {
  if (ctx.draining.load()) return Unavailable("The server is shutting down");
  const auto prompt_tokens = static_cast<int64_t>(spec.engine.prompt.size());
  if (prompt_tokens >= ctx.n_ctx) {
    ApiError e = InvalidRequest("The prompt has " + std::to_string(prompt_tokens) +
                                " tokens; this server's context holds " +
                                std::to_string(ctx.n_ctx) + " (prompt and completion)");
    e.code = "context_length_exceeded";
    return e;
  }
  auto gen = std::make_shared<Generation>(ctx, exchange, std::move(spec), request.received,
                                          std::move(on_delta), std::move(on_done));
  runtime::EngineRequest engine_request = gen->spec_.engine;
  // The engine calls the sink on its own thread; the event is handled on the connection's
  // strand, where all of this generation's state lives.
  auto sink = [gen, exchange](const runtime::TokenEvent& event) {
    exchange->Post([gen, event] { gen->OnEvent(event); });
  };
  auto id = ctx.engine->Submit(std::move(engine_request), std::move(sink));
  if (!id.ok()) return FromStatus(id.status());
  gen->request_id_ = *id;
  ctx.generations_in_flight.fetch_add(1);
  exchange->OnDisconnect([gen] { gen->OnDisconnect(); });
  return std::nullopt;
}

void Generation::OnEvent(const runtime::TokenEvent& event) {
  if (done_) return;
  if (event.token >= 0) {
    const auto now = std::chrono::steady_clock::now();
    if (!first_token_seen_) {
      ctx_.metrics.ObserveTimeToFirstToken(Seconds(now - received_));
      first_token_seen_ = true;
    } else {
      ctx_.metrics.ObserveInterTokenLatency(Seconds(now - last_token_));
    }
    last_token_ = now;
    ++completion_tokens_;
    // End tokens are counted but are not text.
    if (spec_.engine.end_tokens.count(event.token) == 0) {
      if (splitter_.in_reasoning()) ++reasoning_tokens_;
      if (spec_.logprobs)
        pending_.logprobs.push_back({event.token, event.logprob, event.top_logprobs});
      Emit(stop_.Feed(detok_.Feed(event.token)));
      if (stop_.stopped()) {
        ctx_.engine->Cancel(request_id_);
        return Finish("stop", std::nullopt);
      }
    }
  }
  if (event.finish == runtime::Finish::kNone) {
    if (!pending_.empty()) on_delta_(std::exchange(pending_, GenerationDelta()));
    return;
  }
  if (event.finish == runtime::Finish::kError) {
    return Finish("stop", InternalError("generation failed: " + event.error));
  }
  Emit(stop_.Feed(detok_.Flush()));
  if (!stop_.stopped()) Emit(stop_.Flush());
  const bool length =
      event.finish == runtime::Finish::kLength || event.finish == runtime::Finish::kContextFull;
  cached_tokens_ = event.cached_prompt_tokens;  // reported on the final event only
  Finish(length && !stop_.stopped() ? "length" : "stop", std::nullopt);
}

void Generation::Emit(const std::string& text) {
  if (text.empty()) return;
  tokenizer::ReasoningDelta d = splitter_.Feed(text);
  pending_.reasoning += d.reasoning;
  pending_.content += d.content;
}

void Generation::Finish(const std::string& reason, std::optional<ApiError> error) {
  tokenizer::ReasoningDelta d = splitter_.Finish();
  pending_.reasoning += d.reasoning;
  pending_.content += d.content;
  if (!pending_.empty()) on_delta_(std::exchange(pending_, GenerationDelta()));
  done_ = true;
  GenerationResult result;
  result.finish_reason = reason;
  result.prompt_tokens = static_cast<int64_t>(spec_.engine.prompt.size());
  result.completion_tokens = completion_tokens_;
  result.reasoning_tokens = reasoning_tokens_;
  result.cached_tokens = cached_tokens_;
  result.error = std::move(error);
  ctx_.metrics.AddTokens(result.prompt_tokens, result.completion_tokens);
  ctx_.generations_in_flight.fetch_sub(1);
  on_done_(result);
  Release();
}

void Generation::OnDisconnect() {
  if (done_) return;
  done_ = true;
  ctx_.engine->Cancel(request_id_);
  ctx_.metrics.AddTokens(static_cast<int64_t>(spec_.engine.prompt.size()), completion_tokens_);
  ctx_.generations_in_flight.fetch_sub(1);
  Release();
}

// The callbacks hold the route's response state (and through it the exchange); drop them so
// nothing outlives the request but the engine's sink, which ends with the final event.
void Generation::Release() {
  on_delta_ = nullptr;
  on_done_ = nullptr;
}

}  // namespace r1d::server
