#pragma once
// `r1d serve`: loads a model, starts the engine and the HTTP server, and runs until SIGTERM or
// SIGINT; then it stops taking new work (/ready answers 503), lets requests in flight finish
// (at most drain_timeout) and returns.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/http_server.h"

namespace r1d::server {

struct ServeOptions {
  std::string model;  // a GGUF path or a model store reference
  HttpOptions http;
  std::string api_key;  // "" = no key
  std::string chat_template_file;
  std::vector<std::string> aliases;  // more names the model answers to
  int parallel = 4;
  int64_t ctx = 0;  // 0: min(4096, the model's training context)
  int threads = 0;  // engine threads; 0: all cores
  int64_t max_queue = 64;
  double drain_timeout_s = 30;
  int io_threads = 2;
  bool row_order = false;  // --fast-dots (models::LoadOptions::row_order)
};

// Runs the server; returns after a signal and the drain. Errors: the model, the template or the
// address cannot be used. `on_listening` (optional) is called with the bound port.
Status Serve(const ServeOptions& options,
             const std::function<void(uint16_t port)>& on_listening = nullptr);

// The id a model is listed under: the file name without ".gguf", or a store tag as given.
std::string ModelIdFromArg(const std::string& arg);

}  // namespace r1d::server
