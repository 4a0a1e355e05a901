#include "server/server.h"

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "formats/gguf_reader.h"
#include "models/model.h"
#include "runtime/engine.h"
#include "server/context.h"
#include "server/routes.h"
#include "store/model_store.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace r1d::server {
namespace {

namespace net = boost::asio;

// Stops taking work, then polls until every request is answered (or the deadline passes) and
// stops the io_context.
class Drainer : public std::enable_shared_from_this<Drainer> {
 public:
  Drainer(net::io_context& ioc, ServerContext& ctx, HttpServer& http, double timeout_s)
      : ioc_(ioc),
        ctx_(ctx),
        http_(http),
        timer_(ioc),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000))) {}

  void Begin() {
    ctx_.draining.store(true);
    ctx_.engine->StopAccepting();
    Poll();
  }

 private:
  void Poll() {
    const bool done = ctx_.generations_in_flight.load() == 0 && ctx_.engine->Idle() &&
                      http_.active_requests() == 0;
    if (done || std::chrono::steady_clock::now() >= deadline_) {
      if (!done) std::fprintf(stderr, "r1d: drain timeout; cancelling what is left\n");
      http_.StopListening();
      ioc_.stop();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(20));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->Poll();
    });
  }

  net::io_context& ioc_;
  ServerContext& ctx_;
  HttpServer& http_;
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
};

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot read the chat template");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string ModelIdFromArg(const std::string& arg) {
  std::string id = arg;
  if (id.find('/') != std::string::npos && id.rfind("hf:", 0) != 0)
    id = id.substr(id.rfind('/') + 1);
  constexpr std::string_view kExt = ".gguf";
  if (id.size() > kExt.size() && id.compare(id.size() - kExt.size(), kExt.size(), kExt) == 0) {
    id.resize(id.size() - kExt.size());
  }
  return id;
}

Status Serve(const ServeOptions& options, const std::function<void(uint16_t)>& on_listening) {
  if (options.parallel < 1) return Status::Error("--parallel must be at least 1");
  if (options.max_queue < 0) return Status::Error("--max-queue must not be negative");
  if (options.drain_timeout_s < 0) return Status::Error("--drain-timeout must not be negative");
  R1D_ASSIGN_OR_RETURN(std::string path, store::ResolveModelPath(options.model));
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<formats::GgufFile> file, formats::GgufFile::Open(path));
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok, tokenizer::LoadTokenizer(*file));
  R1D_ASSIGN_OR_RETURN(tokenizer::ModelChatInfo chat_info, tokenizer::ReadModelChatInfo(*file));
  std::string source = chat_info.template_source;
  if (!options.chat_template_file.empty()) {
    R1D_ASSIGN_OR_RETURN(source, ReadTextFile(options.chat_template_file));
  }
  R1D_ASSIGN_OR_RETURN(tokenizer::ChatTemplate tmpl, tokenizer::ChatTemplate::Parse(source));
  std::fprintf(stderr, "r1d: loading %s\n", ModelIdFromArg(options.model).c_str());
  const auto load_start = std::chrono::steady_clock::now();
  models::LoadOptions load;
  load.row_order = options.row_order;
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model,
                       models::LoadModel(std::move(file), load));
  std::fprintf(stderr, "r1d: model loaded in %.1f s; %s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count(),
               models::DescribePacking(model->pack_stats()).c_str());

  runtime::EngineOptions eo;
  const int64_t n_ctx_train = model->info().n_ctx_train > 0 ? model->info().n_ctx_train : 4096;
  eo.n_ctx = options.ctx > 0 ? options.ctx : std::min<int64_t>(4096, n_ctx_train);
  eo.parallel = options.parallel;
  eo.max_queue = options.max_queue;
  eo.threads = options.threads;
  R1D_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Engine> engine,
                       runtime::Engine::Create(*model, eo));

  ServerContext ctx;
  ctx.tokenizer = tok.get();
  ctx.chat_template = &tmpl;
  ctx.bos_token = chat_info.bos_token;
  ctx.eos_token = chat_info.eos_token;
  ctx.engine = engine.get();
  ctx.n_ctx = eo.n_ctx;
  ctx.api_key = options.api_key;
  ctx.created = std::time(nullptr);
  ctx.model_ids.push_back(ModelIdFromArg(options.model));
  std::vector<std::string> names = options.aliases;
  // DeepSeek clients ask for these names; they mean "the model this server runs".
  names.push_back("deepseek-reasoner");
  names.push_back("deepseek-chat");
  for (const auto& n : names) {
    if (!n.empty() && !ctx.KnownModel(n)) ctx.model_ids.push_back(n);
  }

  net::io_context ioc(options.io_threads);
  HttpServer http(
      ioc, options.http,
      [&ctx](const Request& request, std::shared_ptr<Exchange> exchange) {
        Route(ctx, request, std::move(exchange));
      },
      [&ctx](const std::string& route, int status) { ctx.metrics.CountRequest(route, status); });
  R1D_RETURN_IF_ERROR(http.Listen());
  // SIGTERM / SIGINT begin the drain (handled on the io_context, not in a signal handler).
  net::signal_set signals(ioc, SIGTERM, SIGINT);
  std::shared_ptr<Drainer> drainer;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (drainer) {  // a second signal: stop now
          ioc.stop();
          return;
        }
        std::fprintf(stderr, "r1d: draining (up to %.0f s), then exiting\n",
                     options.drain_timeout_s);
        drainer = std::make_shared<Drainer>(ioc, ctx, http, options.drain_timeout_s);
        drainer->Begin();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  http.Start();
  std::fprintf(stderr, "r1d: serving %s on http://%s:%u\n", ctx.model_ids.front().c_str(),
               options.http.host.c_str(), static_cast<unsigned>(http.port()));
  if (on_listening) on_listening(http.port());

  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, options.io_threads); ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  // The engine goes first: its destructor cancels what is left and posts those last events to
  // the io_context. Running it once more (bounded) delivers them, so the connections still open
  // after a drain timeout are finished and closed instead of abandoned.
  engine.reset();
  http.StopListening();
  ioc.restart();
  ioc.run_for(std::chrono::milliseconds(500));
  return Status::Ok();
}

}  // namespace r1d::server
