#pragma once
// What every route works with: the served model (tokenizer, chat template, engine), the names it
// answers to, the API key, metrics and the draining flag. Built once by the server.
#include <atomic>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "server/metrics.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace r1d::server {

struct ServerContext {
  const tokenizer::Tokenizer* tokenizer = nullptr;
  const tokenizer::ChatTemplate* chat_template = nullptr;
  std::string bos_token;
  std::string eos_token;
  runtime::Engine* engine = nullptr;
  int64_t n_ctx = 0;
  // Names a request may give as `model`; the first is the model's own id.
  std::vector<std::string> model_ids;
  std::string api_key;  // "" = no key required
  std::time_t created = 0;
  Metrics metrics;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> generations_in_flight{0};

  bool KnownModel(const std::string& name) const {
    for (const auto& id : model_ids) {
      if (id == name) return true;
    }
    return false;
  }
  bool ready() const { return engine != nullptr && !draining.load(); }
};

}  // namespace r1d::server
