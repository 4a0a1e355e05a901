// POST /v1/chat/completions: OpenAI chat completions with DeepSeek's `reasoning_content`.
#include <ctime>

#include "server/generation.h"
#include "server/routes.h"
#include "server/sse.h"
#include "tokenizer/reasoning_splitter.h"

namespace r1d::server {
namespace {

// Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}, ...]}.
Json TokenEntry(const tokenizer::Tokenizer& tok, int32_t id, float logprob) {
  const std::string piece(tok.TokenPiece(id));
  Json bytes = Json::array();
  for (unsigned char c : piece) bytes.push_back(static_cast<int>(c));
  return Json{{"token", piece}, {"logprob", logprob}, {"bytes", std::move(bytes)}};
}

Json ChatLogprobs(const tokenizer::Tokenizer& tok, const std::vector<TokenLogprob>& entries) {
  Json content = Json::array();
  for (const auto& e : entries) {
    Json entry = TokenEntry(tok, e.id, e.logprob);
    Json top = Json::array();
    for (const auto& [id, lp] : e.top) top.push_back(TokenEntry(tok, id, lp));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return Json{{"content", std::move(content)}};
}

Json Usage(const GenerationResult& r) {
  return Json{{"prompt_tokens", r.prompt_tokens},
              {"completion_tokens", r.completion_tokens},
              {"total_tokens", r.prompt_tokens + r.completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}},
              {"completion_tokens_details", {{"reasoning_tokens", r.reasoning_tokens}}}};
}

// Message content as the template wants it: a string. Arrays of text parts are joined.
std::optional<ApiError> NormalizeContent(Json& message, size_t index) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    message["content"] = "";
    return std::nullopt;
  }
  if (it->is_string()) return std::nullopt;
  if (!it->is_array())
    return InvalidRequest("'" + param + "' must be a string or a list of parts", param);
  std::string text;
  for (const auto& part : *it) {
    const bool text_part = part.is_object() && part.contains("type") &&
                           part.at("type").is_string() && part.at("type") == "text" &&
                           part.contains("text") && part.at("text").is_string();
    if (!text_part) {
      return InvalidRequest("'" + param + "' parts must be {\"type\": \"text\", \"text\": ...}",
                            param);
    }
    text += part.at("text").get<std::string>();
  }
  message["content"] = text;
  return std::nullopt;
}

std::optional<ApiError> ParseMessages(const Json& body, Json& messages) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return InvalidRequest("'messages' must be a non-empty list of messages", "messages");
  }
  messages = Json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    Json m = (*it)[i];
    if (!m.is_object()) return InvalidRequest("'" + param + "' must be an object", param);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) {
      return InvalidRequest("'" + param + ".role' must be a string", param + ".role");
    }
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // OpenAI's newer name; templates know "system"
    if (r != "system" && r != "user" && r != "assistant" && r != "tool") {
      return InvalidRequest("'" + param + ".role' must be system, user, assistant or tool",
                            param + ".role");
    }
    m["role"] = r;
    if (auto e = NormalizeContent(m, i)) return e;
    // Earlier reasoning is not part of the next prompt (DeepSeek drops it as well).
    m.erase("reasoning_content");
    messages.push_back(std::move(m));
  }
  return std::nullopt;
}

// Response state of one chat request, streamed or collected.
struct ChatResponse {
  ServerContext* ctx;
  std::shared_ptr<Exchange> exchange;
  std::string id = NewId("chatcmpl-");
  std::time_t created = std::time(nullptr);
  std::string model;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  std::string content, reasoning;
  std::vector<TokenLogprob> all_logprobs;

  Json Chunk(Json delta, const Json& finish_reason, const Json& logprobs_json) const {
    Json choice{{"index", 0},
                {"delta", std::move(delta)},
                {"logprobs", logprobs_json},
                {"finish_reason", finish_reason}};
    return Json{{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", model},
                {"system_fingerprint", "r1d"},
                {"choices", Json::array({std::move(choice)})}};
  }

  void OnDelta(GenerationDelta d) {
    if (!stream) {
      content += d.content;
      reasoning += d.reasoning;
      all_logprobs.insert(all_logprobs.end(), d.logprobs.begin(), d.logprobs.end());
      return;
    }
    Json delta = Json::object();
    if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
    if (!d.content.empty()) delta["content"] = d.content;
    const Json lp = logprobs ? ChatLogprobs(*ctx->tokenizer, d.logprobs) : Json(nullptr);
    exchange->Write(SseEvent(Dump(Chunk(std::move(delta), nullptr, lp))));
  }

  void OnDone(const GenerationResult& r) {
    if (r.error) {
      if (!stream) return exchange->RespondError(*r.error);
      exchange->Write(SseEvent(r.error->ToJson()));
      exchange->Write(std::string(kSseDone));
      return exchange->End();
    }
    if (stream) {
      exchange->Write(SseEvent(Dump(Chunk(Json::object(), r.finish_reason, nullptr))));
      if (include_usage) {
        Json chunk = Chunk(Json::object(), nullptr, nullptr);
        chunk["choices"] = Json::array();
        chunk["usage"] = Usage(r);
        exchange->Write(SseEvent(Dump(chunk)));
      }
      exchange->Write(std::string(kSseDone));
      return exchange->End();
    }
    Json message{{"role", "assistant"}, {"content", content}};
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    Json choice{
        {"index", 0},
        {"message", std::move(message)},
        {"logprobs", logprobs ? ChatLogprobs(*ctx->tokenizer, all_logprobs) : Json(nullptr)},
        {"finish_reason", r.finish_reason}};
    Json body{{"id", id},
              {"object", "chat.completion"},
              {"created", created},
              {"model", model},
              {"system_fingerprint", "r1d"},
              {"choices", Json::array({std::move(choice)})},
              {"usage", Usage(r)}};
    exchange->RespondJson(200, Dump(body));
  }
};

}  // namespace

void HandleChatCompletions(ServerContext& ctx, const Request& request,
                           std::shared_ptr<Exchange> exchange) {
  Json body;
  if (auto e = ParseJsonObject(request.body, body)) return exchange->RespondError(*e);
  GenerationSpec spec;
  if (auto e = ParseCommonFields(body, ctx, spec)) return exchange->RespondError(*e);
  std::optional<bool> logprobs;
  std::optional<int64_t> top_logprobs;
  if (auto e = GetBool(body, "logprobs", logprobs)) return exchange->RespondError(*e);
  if (auto e = GetInt(body, "top_logprobs", 0, 20, top_logprobs)) return exchange->RespondError(*e);
  if (top_logprobs && *top_logprobs > 0 && !logprobs.value_or(false)) {
    return exchange->RespondError(
        InvalidRequest("'top_logprobs' needs 'logprobs' set to true", "top_logprobs"));
  }
  spec.logprobs = logprobs.value_or(false);
  spec.engine.top_logprobs = static_cast<int>(top_logprobs.value_or(0));
  spec.engine.logprobs = spec.logprobs;

  tokenizer::ChatTemplateInputs inputs;
  if (auto e = ParseMessages(body, inputs.messages)) return exchange->RespondError(*e);
  if (auto it = body.find("tools"); it != body.end() && !it->is_null()) {
    if (!it->is_array())
      return exchange->RespondError(InvalidRequest("'tools' must be a list", "tools"));
    if (!it->empty()) inputs.tools = *it;
  }
  inputs.add_generation_prompt = true;
  inputs.bos_token = ctx.bos_token;
  inputs.eos_token = ctx.eos_token;
  auto prompt = ctx.chat_template->Apply(inputs);
  if (!prompt.ok()) {
    return exchange->RespondError(InvalidRequest(
        "The chat template rejected the messages: " + ScrubPaths(prompt.status().message()),
        "messages"));
  }
  spec.engine.prompt =
      ctx.tokenizer->Encode(*prompt, /*add_special=*/false, /*parse_special=*/true);
  spec.split_reasoning = true;
  spec.start_in_reasoning = tokenizer::PromptOpensThinking(*prompt);

  auto response = std::make_shared<ChatResponse>();
  response->ctx = &ctx;
  response->exchange = exchange;
  response->model = spec.model;
  response->stream = spec.stream;
  response->include_usage = spec.include_usage;
  response->logprobs = spec.logprobs;
  const bool stream = spec.stream;
  auto error = Generation::Start(
      ctx, exchange, std::move(spec), request,
      [response](GenerationDelta d) { response->OnDelta(std::move(d)); },
      [response](const GenerationResult& r) { response->OnDone(r); });
  if (error) return exchange->RespondError(*error);
  if (stream) {
    exchange->BeginStream(kSseContentType);
    Json delta{{"role", "assistant"}, {"content", ""}};
    exchange->Write(SseEvent(Dump(response->Chunk(std::move(delta), nullptr, nullptr))));
  }
}

}  // namespace r1d::server
