// r1d serve: the OpenAI/DeepSeek-compatible HTTP API (see src/server/).
#include <fstream>
#include <sstream>

#include "cli/command.h"
#include "server/server.h"

namespace r1d::cli {
namespace {

struct ServeFlags {
  server::ServeOptions options;
  std::string api_key_file;
  int port = 8080;
};

int RunServe(ServeFlags& flags) {
  auto& o = flags.options;
  if (flags.port < 0 || flags.port > 65535) return Fail("--port must be in [0, 65535]");
  o.http.port = static_cast<uint16_t>(flags.port);
  if (!flags.api_key_file.empty()) {
    if (!o.api_key.empty()) return Fail("give either --api-key or --api-key-file, not both");
    std::ifstream in(flags.api_key_file, std::ios::binary);
    if (!in) return Fail(flags.api_key_file + ": cannot read the API key file");
    std::stringstream ss;
    ss << in.rdbuf();
    o.api_key = ss.str();
    while (!o.api_key.empty() &&
           (o.api_key.back() == '\n' || o.api_key.back() == '\r' || o.api_key.back() == ' ')) {
      o.api_key.pop_back();
    }
    if (o.api_key.empty()) return Fail(flags.api_key_file + ": the API key file is empty");
  }
  Status st = server::Serve(o);
  if (!st.ok()) return Fail(st.message());
  return 0;
}

const CommandRegistrar kRegistrar(
    "serve", "Serve the OpenAI/DeepSeek-compatible HTTP API", [](CLI::App& sub) {
      auto flags = std::make_shared<ServeFlags>();
      auto& o = flags->options;
      sub.add_option(
             "-m,--model", o.model,
             "Model: a GGUF path, hf:<owner>/<repo>/<file.gguf> or a tag such as deepseek-r1:7b")
          ->required();
      sub.add_option("--host", o.http.host, "Address to listen on (loopback unless told otherwise)")
          ->capture_default_str();
      sub.add_option("--port", flags->port, "Port (0: any free port)")->capture_default_str();
      sub.add_option("--api-key", o.api_key,
                     "Require 'Authorization: Bearer KEY' on every route but /health and /ready");
      sub.add_option("--api-key-file", flags->api_key_file, "Read the API key from a file");
      sub.add_option("--chat-template-file", o.chat_template_file,
                     "Jinja chat template (default: the model's own, else DeepSeek-R1's)");
      sub.add_option("--parallel", o.parallel, "Most sequences generated at once")
          ->capture_default_str();
      sub.add_option("--ctx", o.ctx, "Context per sequence (default: min(4096, the model's))");
      sub.add_option("-t,--threads", o.threads, "Engine threads (default: all cores)");
      sub.add_option("--alias", o.aliases, "Another name the model answers to (repeatable)");
      sub.add_option("--max-queue", o.max_queue, "Most waiting requests; beyond it 429")
          ->capture_default_str();
      sub.add_option("--drain-timeout", o.drain_timeout_s,
                     "Seconds to let requests finish after SIGTERM")
          ->capture_default_str();
      AddFastDotsFlag(sub, o.row_order);
      return [flags] { return RunServe(*flags); };
    });

}  // namespace
}  // namespace r1d::cli
