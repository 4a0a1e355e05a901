#pragma once
// Token sampling: penalties, top-k, top-p, min-p, temperature, seeded RNG. temperature <= 0
// means greedy (argmax of the penalized logits). Same seed and inputs -> same tokens.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "core/status.h"

namespace r1d::runtime {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
  int32_t repeat_last_n = 64;   // window for all penalties; -1: whole history
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
};

// Checks ranges; the message names the parameter.
Status ValidateSamplingParams(const SamplingParams& p);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks the next token from raw logits (n_vocab values) given the tokens so far (prompt and
  // generated, used by the penalties).
  int32_t Sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history);

 private:
  // The penalties over the recent window of `history`, applied to candidates_ (all n_vocab).
  void ApplyPenalties(int64_t n_vocab, const std::vector<int32_t>& history);
  // candidates_ = the k best logits, best first (ties to the lower id), without a full copy.
  void KeepTopK(const float* logits, int64_t n_vocab, size_t k);
  // A draw from the tempered softmax over all of candidates_.
  int32_t DrawUncut();

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
  std::vector<double> weights_;
  std::vector<float> scaled_;  // the uncut draw's weights
};

// The k most probable tokens of softmax(logits), most probable first: (id, probability).
std::vector<std::pair<int32_t, float>> TopProbabilities(const float* logits, int64_t n_vocab,
                                                        int k);

}  // namespace r1d::runtime
