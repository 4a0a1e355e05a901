#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "kernels/parity/cpu_reference_order.h"

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

namespace {

// The order of the kept candidates: by logit, descending, ties to the lower id.
bool ByLogit(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// The k largest logits as (logit, id), in ByLogit's order, read straight from the logits.
void TopLogits(const float* logits, int64_t n_vocab, size_t k,
               std::vector<std::pair<float, int32_t>>& out) {
  // A heap of the best k so far with the worst of them in front. Ids rise through the scan, so
  // a later logit equal to the worst kept one ranks below it: only strictly larger ones enter.
  // The result is the first k of the full order by ByLogit, the set and order that a
  // partial_sort of every candidate gives.
  out.clear();
  if (k == 0) return;
  const int64_t first = std::min<int64_t>(n_vocab, static_cast<int64_t>(k));
  for (int64_t i = 0; i < first; ++i) out.emplace_back(logits[i], static_cast<int32_t>(i));
  std::make_heap(out.begin(), out.end(), ByLogit);
  auto offer = [&](int64_t i) {
    if (logits[i] > out.front().first) {
      std::pop_heap(out.begin(), out.end(), ByLogit);
      out.back() = {logits[i], static_cast<int32_t>(i)};
      std::push_heap(out.begin(), out.end(), ByLogit);
    }
  };
  // Most logits fall below the worst kept one: test 16 at a time (a loop the compiler
  // vectorizes) and look closer only at chunks with a candidate.
  constexpr int64_t kChunk = 16;
  int64_t i = first;
  for (; i + kChunk <= n_vocab; i += kChunk) {
    const float worst = out.front().first;
    bool any = false;
    for (int64_t j = 0; j < kChunk; ++j) any |= logits[i + j] > worst;
    if (!any) continue;
    for (int64_t j = 0; j < kChunk; ++j) offer(i + j);
  }
  for (; i < n_vocab; ++i) offer(i);
  std::sort_heap(out.begin(), out.end(), ByLogit);
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

void Sampler::ApplyPenalties(int64_t n_vocab, const std::vector<int32_t>& history) {
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

void Sampler::KeepTopK(const float* logits, int64_t n_vocab, size_t k) {
  TopLogits(logits, n_vocab, k, candidates_);
}

int32_t Sampler::DrawUncut() {
  // Nothing is cut: a draw from the whole tempered softmax needs no ordering (sorting a
  // 150k-entry vocabulary for every token would cost more than a small model's forward pass).
  // The weights go through the vectorized float exp and one cumulative scan: exp in double
  // and a std::discrete_distribution table cost ~3 ms per token, a tenth of a decode step of
  // a small model (and serial between steps while the other threads wait).
  const size_t vocab = candidates_.size();
  float max_logit = -INFINITY;
  for (const auto& c : candidates_) max_logit = std::max(max_logit, c.first);
  scaled_.resize(vocab);
  const float t = params_.temperature;
  for (size_t i = 0; i < vocab; ++i) scaled_[i] = (candidates_[i].first - max_logit) / t;
  kernels::parity::ExpRow(scaled_.data(), 0.0f, static_cast<int64_t>(vocab));
  double total = 0;
  for (float w : scaled_) total += w;
  const double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
  double cum = 0;
  size_t last = 0;
  for (size_t i = 0; i < vocab; ++i) {
    if (scaled_[i] == 0.0f) continue;
    last = i;
    cum += scaled_[i];
    if (u < cum) return candidates_[i].second;
  }
  return candidates_[last].second;  // u within rounding of the total
}

int32_t Sampler::Sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history) {
  const bool penalize = params_.repeat_last_n != 0 &&
                        (params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                         params_.frequency_penalty != 0.0f);
  if (params_.temperature <= 0.0f && !penalize) {
    // Greedy without penalties: the first largest logit (the lowest id among equals), read in
    // place (copying a 150k vocabulary into candidates first costs as much again).
    return static_cast<int32_t>(std::max_element(logits, logits + n_vocab) - logits);
  }
  const double temperature = params_.temperature;
  const bool top_p = params_.top_p<1.0f, min_p = params_.min_p> 0.0f;
  const size_t vocab = static_cast<size_t>(n_vocab);
  const size_t k = params_.top_k > 0 ? std::min<size_t>(params_.top_k, vocab) : vocab;
  if (!penalize && params_.temperature > 0.0f && k < vocab) {
    // The top-k tokens read straight from the logits: copying the whole vocabulary into
    // candidates first cost ~0.5 ms per sequence and token (bench/RESULTS.md).
    KeepTopK(logits, n_vocab, k);
  } else {
    candidates_.resize(vocab);
    for (int64_t i = 0; i < n_vocab; ++i) candidates_[i] = {logits[i], static_cast<int32_t>(i)};
    if (penalize) ApplyPenalties(n_vocab, history);
    if (params_.temperature <= 0.0f) {
      // The first in ByLogit's order: the largest logit, the lowest id among equals.
      return std::min_element(candidates_.begin(), candidates_.end(), ByLogit)->second;
    }
    if (k == vocab && !top_p && !min_p) return DrawUncut();
    if (k < vocab) {
      std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(), ByLogit);
      candidates_.resize(k);
    }
  }

  // The kept tokens are always a prefix of the order by logit (descending, ties by id), so only
  // that prefix is sorted: the top-k already are, otherwise it grows until the top-p / min-p
  // cut falls inside.
  const size_t n = candidates_.size();
  float max_logit = -INFINITY;
  for (const auto& c : candidates_) max_logit = std::max(max_logit, c.first);
  // Probabilities at temperature 1 decide top-p / min-p (as llama.cpp's default chain applies
  // them before the temperature), normalized over the top-k candidates.
  // The normalizer over every candidate, through the vectorized float exp (see above).
  scaled_.resize(n);
  for (size_t i = 0; i < n; ++i) scaled_[i] = candidates_[i].first;
  kernels::parity::ExpRow(scaled_.data(), max_logit, static_cast<int64_t>(n));
  double sum = 0;
  for (float w : scaled_) sum += w;
  size_t sorted = k < vocab ? n : 0;
  size_t keep = n;
  for (size_t want = std::min<size_t>(n, 256);; want = std::min(n, want * 4)) {
    if (want > sorted) {
      std::partial_sort(candidates_.begin() + sorted, candidates_.begin() + want, candidates_.end(),
                        ByLogit);
      sorted = want;
    }
    bool cut = false;
    double cum = 0;
    const double threshold = params_.min_p;  // times the top probability, exp(0) = 1
    for (size_t i = 0; i < sorted && !cut; ++i) {
      const double p = std::exp(static_cast<double>(candidates_[i].first) - max_logit);
      if (min_p && i > 0 && p < threshold) {
        keep = i;
        cut = true;
      } else if (top_p && (cum += p / sum) >= params_.top_p) {
        keep = i + 1;
        cut = true;
      }
    }
    if (cut || sorted == n) break;
  }
  // Temperature, then draw.
  weights_.resize(keep);
  for (size_t i = 0; i < keep; ++i) {
    weights_[i] = std::exp((static_cast<double>(candidates_[i].first) - max_logit) / temperature);
  }
  std::discrete_distribution<size_t> dist(weights_.begin(), weights_.end());
  return candidates_[dist(rng_)].second;
}

std::vector<std::pair<int32_t, float>> TopProbabilities(const float* logits, int64_t n_vocab,
                                                        int k) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n_vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  std::vector<std::pair<float, int32_t>> best;
  TopLogits(logits, n_vocab, static_cast<size_t>(std::clamp<int64_t>(k, 0, n_vocab)), best);
  std::vector<std::pair<int32_t, float>> top;
  for (const auto& [logit, id] : best) top.emplace_back(id, logit);
  for (auto& [id, value] : top) {
    value = static_cast<float>(std::exp(static_cast<double>(value) - max) / sum);
  }
  return top;
}

}  // namespace r1d::runtime
