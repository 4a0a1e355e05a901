// GET /health (the process is alive), GET /ready (the model is loaded and the server is not
// draining), GET /metrics (Prometheus text format).
#include "server/request_params.h"
#include "server/routes.h"

namespace r1d::server {

void HandleHealth(ServerContext&, const Request&, std::shared_ptr<Exchange> exchange) {
  exchange->RespondJson(200, R"({"status":"ok"})");
}

void HandleReady(ServerContext& ctx, const Request&, std::shared_ptr<Exchange> exchange) {
  if (ctx.ready()) return exchange->RespondJson(200, R"({"status":"ready"})");
  exchange->RespondError(Unavailable(ctx.draining.load() ? "The server is shutting down"
                                                         : "The model is not loaded yet"));
}

void HandleMetrics(ServerContext& ctx, const Request&, std::shared_ptr<Exchange> exchange) {
  const runtime::EngineStats stats =
      ctx.engine != nullptr ? ctx.engine->Stats() : runtime::EngineStats{};
  exchange->Respond(200, "text/plain; version=0.0.4; charset=utf-8",
                    ctx.metrics.Render(stats, ctx.ready()));
}

}  // namespace r1d::server
