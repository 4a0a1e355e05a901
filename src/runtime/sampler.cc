#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace r1d::runtime {

Status ValidateSamplingParams(const SamplingParams& p) {
  auto bad = [](const char* name, const std::string& why) {
    return Status::Error(std::string("sampling parameter ") + name + " " + why);
  };
  if (!std::isfinite(p.temperature) || p.temperature < 0) return bad("temperature", "must be >= 0");
  if (!std::isfinite(p.top_p) || p.top_p <= 0 || p.top_p > 1)
    return bad("top_p", "must be in (0, 1]");
  if (!std::isfinite(p.min_p) || p.min_p < 0 || p.min_p > 1)
    return bad("min_p", "must be in [0, 1]");
  if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0) {
    return bad("repeat_penalty", "must be > 0");
  }
  if (p.repeat_last_n < -1) return bad("repeat_last_n", "must be >= -1");
  if (!std::isfinite(p.presence_penalty) || std::fabs(p.presence_penalty) > 2) {
    return bad("presence_penalty", "must be in [-2, 2]");
  }
  if (!std::isfinite(p.frequency_penalty) || std::fabs(p.frequency_penalty) > 2) {
    return bad("frequency_penalty", "must be in [-2, 2]");
  }
  return Status::Ok();
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

int32_t Sampler::Sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history) {
  candidates_.resize(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) candidates_[i] = {logits[i], static_cast<int32_t>(i)};

  // Penalties over the recent window.
  const bool penalize = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  if (penalize && params_.repeat_last_n != 0) {
    size_t window = params_.repeat_last_n < 0
                        ? history.size()
                        : std::min<size_t>(history.size(), params_.repeat_last_n);
    std::unordered_map<int32_t, int> counts;
    for (size_t i = history.size() - window; i < history.size(); ++i) counts[history[i]]++;
    for (const auto& [tok, count] : counts) {
      if (tok < 0 || tok >= n_vocab) continue;
      float& l = candidates_[tok].first;
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
      l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }
  }

  if (params_.temperature <= 0.0f) {
    auto best =
        std::max_element(candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
          return a.first < b.first || (a.first == b.first && a.second > b.second);
        });
    return best->second;
  }

  // Sort by logit, descending (ties by id so the order is deterministic).
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t n = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = static_cast<size_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + n, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  // Probabilities at temperature 1 decide top-p / min-p (as llama.cpp's default chain applies
  // them before the temperature).
  std::vector<double> probs(n);
  const double max_logit = candidates_[0].first;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    probs[i] = std::exp(static_cast<double>(candidates_[i].first) - max_logit);
    sum += probs[i];
  }
  size_t keep = n;
  if (params_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < n; ++i) {
      cum += probs[i] / sum;
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double threshold = params_.min_p * probs[0];  // probs[0] is the max
    size_t i = 1;
    while (i < keep && probs[i] >= threshold) ++i;
    keep = i;
  }
  // Temperature, then draw.
  std::vector<double> weights(keep);
  for (size_t i = 0; i < keep; ++i) {
    weights[i] =
        std::exp((static_cast<double>(candidates_[i].first) - max_logit) / params_.temperature);
  }
  std::discrete_distribution<size_t> dist(weights.begin(), weights.end());
  return candidates_[dist(rng_)].second;
}

std::vector<std::pair<int32_t, float>> TopProbabilities(const float* logits, int64_t n_vocab,
                                                        int k) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n_vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  std::vector<std::pair<int32_t, float>> top;
  top.reserve(n_vocab);
  for (int64_t i = 0; i < n_vocab; ++i) top.emplace_back(static_cast<int32_t>(i), logits[i]);
  k = static_cast<int>(std::min<int64_t>(k, n_vocab));
  std::partial_sort(top.begin(), top.begin() + k, top.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  top.resize(k);
  for (auto& [id, value] : top) {
    value = static_cast<float>(std::exp(static_cast<double>(value) - max) / sum);
  }
  return top;
}

}  // namespace r1d::runtime
