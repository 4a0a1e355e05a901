#pragma once
// Server metrics in the Prometheus text format: requests by route and status, tokens,
// time-to-first-token and inter-token latency histograms, and the engine's gauges (queue depth,
// running sequences, KV-cache blocks). Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/engine.h"

namespace r1d::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Appends the _bucket/_sum/_count lines for `name`.
  void Render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void CountRequest(const std::string& route, int status);
  void ObserveTimeToFirstToken(double seconds);
  void ObserveInterTokenLatency(double seconds);
  void AddTokens(int64_t prompt, int64_t generated);

  // The whole exposition; engine gauges come from `stats`.
  std::string Render(const runtime::EngineStats& stats, bool ready) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram ttft_;
  Histogram itl_;
  uint64_t prompt_tokens_ = 0;
  uint64_t generated_tokens_ = 0;
};

}  // namespace r1d::server
