// GET /v1/models, GET /v1/models/{id}, POST /tokenize, POST /detokenize.
#include "server/request_params.h"
#include "server/routes.h"

namespace r1d::server {
namespace {

Json ModelObject(const ServerContext& ctx, const std::string& id) {
  return Json{{"id", id}, {"object", "model"}, {"created", ctx.created}, {"owned_by", "r1d"}};
}

}  // namespace

void HandleModels(ServerContext& ctx, const Request&, std::shared_ptr<Exchange> exchange) {
  Json data = Json::array();
  for (const auto& id : ctx.model_ids) data.push_back(ModelObject(ctx, id));
  exchange->RespondJson(200, Dump(Json{{"object", "list"}, {"data", std::move(data)}}));
}

void HandleModel(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange) {
  const std::string id = request.path.substr(request.path.rfind("/models/") + 8);
  if (!ctx.KnownModel(id)) return exchange->RespondError(ModelNotFound(id));
  exchange->RespondJson(200, Dump(ModelObject(ctx, id)));
}

// {"content": "text", "add_special": false, "with_pieces": false} -> {"tokens": [...]}
// (llama.cpp's shape; with_pieces gives [{"id", "piece"}]).
void HandleTokenize(ServerContext& ctx, const Request& request,
                    std::shared_ptr<Exchange> exchange) {
  Json body;
  if (auto e = ParseJsonObject(request.body, body)) return exchange->RespondError(*e);
  auto it = body.find("content");
  if (it == body.end() || !it->is_string()) {
    return exchange->RespondError(InvalidRequest("'content' must be a string", "content"));
  }
  std::optional<bool> add_special, parse_special, with_pieces;
  if (auto e = GetBool(body, "add_special", add_special)) return exchange->RespondError(*e);
  if (auto e = GetBool(body, "parse_special", parse_special)) return exchange->RespondError(*e);
  if (auto e = GetBool(body, "with_pieces", with_pieces)) return exchange->RespondError(*e);
  const std::vector<int32_t> ids = ctx.tokenizer->Encode(
      it->get<std::string>(), add_special.value_or(false), parse_special.value_or(true));
  Json tokens = Json::array();
  for (int32_t id : ids) {
    if (with_pieces.value_or(false)) {
      tokens.push_back(Json{{"id", id}, {"piece", std::string(ctx.tokenizer->TokenPiece(id))}});
    } else {
      tokens.push_back(id);
    }
  }
  exchange->RespondJson(200, Dump(Json{{"tokens", std::move(tokens)}}));
}

// {"tokens": [ids]} -> {"content": "text"}
void HandleDetokenize(ServerContext& ctx, const Request& request,
                      std::shared_ptr<Exchange> exchange) {
  Json body;
  if (auto e = ParseJsonObject(request.body, body)) return exchange->RespondError(*e);
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array()) {
    return exchange->RespondError(InvalidRequest("'tokens' must be a list of token ids", "tokens"));
  }
  std::vector<int32_t> ids;
  for (const auto& v : *it) {
    const bool valid = v.is_number_integer() && v.get<int64_t>() >= 0 &&
                       v.get<int64_t>() < ctx.tokenizer->n_vocab();
    if (!valid) {
      return exchange->RespondError(InvalidRequest(
          "'tokens' must hold token ids in [0, " + std::to_string(ctx.tokenizer->n_vocab()) + ")",
          "tokens"));
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  exchange->RespondJson(200, Dump(Json{{"content", ctx.tokenizer->Decode(ids)}}));
}

}  // namespace r1d::server
