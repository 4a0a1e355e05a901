#include "server/auth.h"
#include "server/routes.h"

namespace r1d::server {
namespace {

using RouteFn = void (*)(ServerContext&, const Request&, std::shared_ptr<Exchange>);

struct RouteEntry {
  const char* method;
  const char* path;  // a trailing '*' matches any rest
  RouteFn fn;
};

constexpr RouteEntry kRoutes[] = {
    {"POST", "/v1/chat/completions", HandleChatCompletions},
    {"POST", "/chat/completions", HandleChatCompletions},  // DeepSeek's base URL has no /v1
    {"POST", "/v1/completions", HandleCompletions},
    {"POST", "/completions", HandleCompletions},
    {"GET", "/v1/models", HandleModels},
    {"GET", "/models", HandleModels},
    {"GET", "/v1/models/*", HandleModel},
    {"GET", "/models/*", HandleModel},
    {"POST", "/tokenize", HandleTokenize},
    {"POST", "/detokenize", HandleDetokenize},
    {"GET", "/health", HandleHealth},
    {"GET", "/ready", HandleReady},
    {"GET", "/metrics", HandleMetrics},
};

bool PathMatches(const std::string& pattern, const std::string& path) {
  if (!pattern.empty() && pattern.back() == '*') {
    const std::string prefix = pattern.substr(0, pattern.size() - 1);
    return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0;
  }
  return pattern == path;
}

}  // namespace

void Route(ServerContext& ctx, const Request& request, std::shared_ptr<Exchange> exchange) {
  const RouteEntry* path_match = nullptr;
  const RouteEntry* match = nullptr;
  for (const auto& r : kRoutes) {
    if (!PathMatches(r.path, request.path)) continue;
    path_match = &r;
    if (request.method == r.method) {
      match = &r;
      break;
    }
  }
  // Unknown paths are labelled "other" in the metrics so clients cannot grow its label set.
  exchange->set_route(path_match != nullptr ? path_match->path : "other");
  // The key is checked before routing, so without it nothing about the API is revealed.
  if (!IsPublicPath(request.path) && !Authorized(request.authorization, ctx.api_key)) {
    return exchange->RespondError(Unauthorized());
  }
  if (match == nullptr) {
    if (path_match != nullptr) {
      ApiError e = InvalidRequest("Method " + request.method + " is not allowed on " +
                                  std::string(path_match->path));
      e.status = 405;
      e.code = "method_not_allowed";
      return exchange->RespondError(e);
    }
    // Only a short, printable prefix of the path is echoed back.
    std::string shown;
    for (char c : request.path.substr(0, 100)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return exchange->RespondError(
        NotFound("Unknown request URL: " + request.method + " " + shown, "unknown_url"));
  }
  match->fn(ctx, request, std::move(exchange));
}

}  // namespace r1d::server
