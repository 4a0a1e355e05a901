#pragma once
// Route handlers, one file per family, and the router that checks the API key and dispatches.
#include <memory>

#include "server/context.h"
#include "server/http.h"

namespace r1d::server {

// POST /v1/chat/completions (routes_chat.cc)
void HandleChatCompletions(ServerContext& ctx, const Request& request,
                           std::shared_ptr<Exchange> exchange);
// POST /v1/completions (routes_completions.cc)
void HandleCompletions(ServerContext& ctx, const Request& request,
                       std::shared_ptr<Exchange> exchange);
// GET /v1/models, GET /v1/models/{id}, POST /tokenize, POST /detokenize (routes_models.cc)
void HandleModels(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);
void HandleModel(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);
void HandleTokenize(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);
void HandleDetokenize(ServerContext& ctx, const Request& request,
                      std::shared_ptr<Exchange> exchange);
// GET /health, GET /ready, GET /metrics (routes_health.cc)
void HandleHealth(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);
void HandleReady(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);
void HandleMetrics(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);

// The whole API: authentication, routing, 404 / 405. (router.cc)
void Route(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange);

}  // namespace r1d::server
