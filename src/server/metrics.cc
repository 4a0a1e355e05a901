#include "server/metrics.h"

#include <cstdio>

namespace r1d::server {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n";
  out += std::string("# TYPE ") + name + " " + type + "\n";
}

void Sample(std::string& out, const char* name, double value) {
  out += std::string(name) + " " + FormatDouble(value) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + FormatDouble(bounds_[i]) + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + FormatDouble(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void Metrics::CountRequest(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}

void Metrics::ObserveTimeToFirstToken(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.Observe(seconds);
}

void Metrics::ObserveInterTokenLatency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  itl_.Observe(seconds);
}

void Metrics::AddTokens(int64_t prompt, int64_t generated) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  generated_tokens_ += static_cast<uint64_t>(generated);
}

std::string Metrics::Render(const runtime::EngineStats& stats, bool ready) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  Header(out, "r1d_http_requests_total", "counter", "HTTP requests by route and status.");
  for (const auto& [key, count] : requests_) {
    out += "r1d_http_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  Header(out, "r1d_prompt_tokens_total", "counter", "Prompt tokens of finished requests.");
  Sample(out, "r1d_prompt_tokens_total", static_cast<double>(prompt_tokens_));
  Header(out, "r1d_generation_tokens_total", "counter", "Tokens generated for finished requests.");
  Sample(out, "r1d_generation_tokens_total", static_cast<double>(generated_tokens_));
  Header(out, "r1d_time_to_first_token_seconds", "histogram",
         "From a request's arrival to its first generated token.");
  ttft_.Render("r1d_time_to_first_token_seconds", out);
  Header(out, "r1d_inter_token_latency_seconds", "histogram",
         "Between consecutive tokens of one request.");
  itl_.Render("r1d_inter_token_latency_seconds", out);

  Header(out, "r1d_requests_waiting", "gauge", "Requests queued in the engine.");
  Sample(out, "r1d_requests_waiting", static_cast<double>(stats.waiting));
  Header(out, "r1d_requests_running", "gauge", "Sequences in the running batch.");
  Sample(out, "r1d_requests_running", static_cast<double>(stats.running));
  Header(out, "r1d_kv_cache_blocks_used", "gauge",
         "KV-cache blocks held by sequences (the prefix cache's reclaimable ones apart).");
  Sample(out, "r1d_kv_cache_blocks_used", static_cast<double>(stats.kv_blocks_used));
  Header(out, "r1d_kv_cache_blocks_cached", "gauge",
         "KV-cache blocks held only by the prefix cache (reclaimable).");
  Sample(out, "r1d_kv_cache_blocks_cached", static_cast<double>(stats.kv_blocks_cached));
  Header(out, "r1d_kv_cache_blocks_total", "gauge", "KV-cache blocks in all.");
  Sample(out, "r1d_kv_cache_blocks_total", static_cast<double>(stats.kv_blocks_total));
  Header(out, "r1d_engine_steps_total", "counter", "Batched forward passes.");
  Sample(out, "r1d_engine_steps_total", static_cast<double>(stats.steps));
  Header(out, "r1d_engine_prompt_tokens_total", "counter", "Prompt tokens the engine processed.");
  Sample(out, "r1d_engine_prompt_tokens_total", static_cast<double>(stats.prompt_tokens));
  Header(out, "r1d_engine_generated_tokens_total", "counter", "Tokens the engine generated.");
  Sample(out, "r1d_engine_generated_tokens_total", static_cast<double>(stats.generated_tokens));
  Header(out, "r1d_engine_preemptions_total", "counter",
         "Sequences preempted because the KV cache was full.");
  Sample(out, "r1d_engine_preemptions_total", static_cast<double>(stats.preemptions));
  Header(out, "r1d_ready", "gauge", "1 when the model is loaded and the server is not draining.");
  Sample(out, "r1d_ready", ready ? 1 : 0);
  return out;
}

}  // namespace r1d::server
