// POST /v1/completions: OpenAI (legacy) text completions. The prompt is text or token ids;
// `return_tokens` (an extension) adds the generated token ids to the choice.
#include <ctime>

#include "server/generation.h"
#include "server/routes.h"
#include "server/sse.h"

namespace r1d::server {
namespace {

// A prompt: "text", ["text"], [ids...] or [[ids...]]. Several prompts (n choices) are not
// supported.
std::optional<ApiError> ParsePrompt(const Json& body, const tokenizer::Tokenizer& tok,
                                    std::vector<int32_t>& ids) {
  auto it = body.find("prompt");
  ApiError bad = InvalidRequest(
      "'prompt' must be a string, a list of token ids, or a list holding one of those", "prompt");
  if (it == body.end() || it->is_null()) return bad;
  const Json* p = &*it;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) {
    p = &(*p)[0];
  }
  if (p->is_string()) {
    ids = tok.Encode(p->get<std::string>(), /*add_special=*/true, /*parse_special=*/true);
  } else if (p->is_array()) {
    for (const auto& v : *p) {
      if (!v.is_number_integer()) return bad;
      const int64_t id = v.get<int64_t>();
      if (id < 0 || id >= tok.n_vocab()) {
        return InvalidRequest("'prompt' has token id " + std::to_string(id) +
                                  " outside the vocabulary [0, " + std::to_string(tok.n_vocab()) +
                                  ")",
                              "prompt");
      }
      ids.push_back(static_cast<int32_t>(id));
    }
  } else {
    return bad;
  }
  if (ids.empty()) return InvalidRequest("'prompt' is empty", "prompt");
  return std::nullopt;
}

Json Usage(const GenerationResult& r) {
  return Json{{"prompt_tokens", r.prompt_tokens},
              {"completion_tokens", r.completion_tokens},
              {"total_tokens", r.prompt_tokens + r.completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

struct CompletionResponse {
  ServerContext* ctx;
  std::shared_ptr<Exchange> exchange;
  std::string id = NewId("cmpl-");
  std::time_t created = std::time(nullptr);
  std::string model;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  bool return_tokens = false;
  std::string text;
  std::vector<TokenLogprob> all_logprobs;
  size_t text_offset = 0;  // bytes of text sent so far (legacy logprobs' text_offset)

  // Legacy logprobs: parallel lists of token strings, logprobs, top alternatives, offsets.
  Json Logprobs(const std::vector<TokenLogprob>& entries, size_t offset) const {
    Json tokens = Json::array(), token_logprobs = Json::array(), top = Json::array(),
         offsets = Json::array();
    for (const auto& e : entries) {
      const std::string piece(ctx->tokenizer->TokenPiece(e.id));
      tokens.push_back(piece);
      token_logprobs.push_back(e.logprob);
      Json alternatives = Json::object();
      for (const auto& [alt, lp] : e.top)
        alternatives[std::string(ctx->tokenizer->TokenPiece(alt))] = lp;
      top.push_back(std::move(alternatives));
      offsets.push_back(offset);
      offset += piece.size();
    }
    return Json{{"tokens", std::move(tokens)},
                {"token_logprobs", std::move(token_logprobs)},
                {"top_logprobs", std::move(top)},
                {"text_offset", std::move(offsets)}};
  }

  Json Body(std::string chunk_text, const Json& finish_reason, Json logprobs_json,
            const std::vector<TokenLogprob>* ids) const {
    Json choice{{"text", std::move(chunk_text)},
                {"index", 0},
                {"logprobs", std::move(logprobs_json)},
                {"finish_reason", finish_reason}};
    if (return_tokens && ids != nullptr) {
      Json t = Json::array();
      for (const auto& e : *ids) t.push_back(e.id);
      choice["tokens"] = std::move(t);
    }
    return Json{{"id", id},
                {"object", "text_completion"},
                {"created", created},
                {"model", model},
                {"system_fingerprint", "r1d"},
                {"choices", Json::array({std::move(choice)})}};
  }

  void OnDelta(GenerationDelta d) {
    if (!stream) {
      text += d.content;
      all_logprobs.insert(all_logprobs.end(), d.logprobs.begin(), d.logprobs.end());
      return;
    }
    Json lp = logprobs ? Logprobs(d.logprobs, text_offset) : Json(nullptr);
    text_offset += d.content.size();
    exchange->Write(
        SseEvent(Dump(Body(std::move(d.content), nullptr, std::move(lp), &d.logprobs))));
  }

  void OnDone(const GenerationResult& r) {
    if (r.error) {
      if (!stream) return exchange->RespondError(*r.error);
      exchange->Write(SseEvent(r.error->ToJson()));
      exchange->Write(std::string(kSseDone));
      return exchange->End();
    }
    if (stream) {
      exchange->Write(SseEvent(Dump(Body("", r.finish_reason, nullptr, nullptr))));
      if (include_usage) {
        Json chunk = Body("", nullptr, nullptr, nullptr);
        chunk["choices"] = Json::array();
        chunk["usage"] = Usage(r);
        exchange->Write(SseEvent(Dump(chunk)));
      }
      exchange->Write(std::string(kSseDone));
      return exchange->End();
    }
    Json body = Body(text, r.finish_reason, logprobs ? Logprobs(all_logprobs, 0) : Json(nullptr),
                     &all_logprobs);
    body["usage"] = Usage(r);
    exchange->RespondJson(200, Dump(body));
  }
};

}  // namespace

void HandleCompletions(ServerContext& ctx, const Request& request,
                       std::shared_ptr<Exchange> exchange) {
  Json body;
  if (auto e = ParseJsonObject(request.body, body)) return exchange->RespondError(*e);
  GenerationSpec spec;
  if (auto e = ParseCommonFields(body, ctx, spec)) return exchange->RespondError(*e);
  // Legacy logprobs: an integer, the number of alternatives per token (0..5 at OpenAI; 20 here).
  std::optional<int64_t> logprobs;
  if (auto e = GetInt(body, "logprobs", 0, 20, logprobs)) return exchange->RespondError(*e);
  std::optional<bool> echo, return_tokens;
  if (auto e = GetBool(body, "echo", echo)) return exchange->RespondError(*e);
  if (echo.value_or(false)) {
    return exchange->RespondError(InvalidRequest("'echo' is not supported", "echo"));
  }
  if (auto e = GetBool(body, "return_tokens", return_tokens)) return exchange->RespondError(*e);
  if (auto e = ParsePrompt(body, *ctx.tokenizer, spec.engine.prompt)) {
    return exchange->RespondError(*e);
  }
  spec.logprobs = logprobs.has_value() || return_tokens.value_or(false);
  spec.engine.top_logprobs = static_cast<int>(logprobs.value_or(0));
  spec.engine.logprobs = spec.logprobs;

  auto response = std::make_shared<CompletionResponse>();
  response->ctx = &ctx;
  response->exchange = exchange;
  response->model = spec.model;
  response->stream = spec.stream;
  response->include_usage = spec.include_usage;
  response->logprobs = logprobs.has_value();
  response->return_tokens = return_tokens.value_or(false);
  const bool stream = spec.stream;
  auto error = Generation::Start(
      ctx, exchange, std::move(spec), request,
      [response](GenerationDelta d) { response->OnDelta(std::move(d)); },
      [response](const GenerationResult& r) { response->OnDone(r); });
  if (error) return exchange->RespondError(*error);
  if (stream) exchange->BeginStream(kSseContentType);
}

}  // namespace r1d::server
