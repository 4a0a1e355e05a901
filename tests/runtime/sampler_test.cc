#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace r1d::runtime {
namespace {

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(Sampler, GreedyPicksTheArgmax) {
  Sampler s(Greedy());
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(s.Sample(logits.data(), 4, {}), 1);
}

// Greedy with and without penalties (two code paths) breaks ties the same way: the lowest id.
TEST(Sampler, GreedyTiesGoToTheLowestIdOnEitherPath) {
  const std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  Sampler plain(Greedy());
  EXPECT_EQ(plain.Sample(logits.data(), 5, {}), 1);
  SamplingParams p = Greedy();
  p.presence_penalty = 0.25f;  // demotes only token 4, which was not in the lead
  Sampler penalized(p);
  EXPECT_EQ(penalized.Sample(logits.data(), 5, {4}), 1);
  const std::vector<float> last = {-1.0f, -1.0f, 0.0f};
  EXPECT_EQ(plain.Sample(last.data(), 3, {}), 2);
}

// Top-k without penalties selects straight from the logits; with a penalty that changes
// nothing (an empty history) the sampler copies every candidate and partial-sorts them. Both
// must keep the same tokens in the same order, so the same seed draws the same tokens, also
// when many logits tie (ties go to the lower id) and for k from 1 to the vocabulary less one.
TEST(Sampler, TopKFromTheLogitsMatchesTheFullSort) {
  std::mt19937 gen(7);
  std::vector<float> logits(5000);
  for (float& l : logits) l = static_cast<float>(static_cast<int>(gen() % 8)) / 4.0f;
  for (int32_t k : {1, 2, 40, 700, 1300, 4999}) {
    for (float top_p : {1.0f, 0.9f}) {
      SamplingParams p;
      p.top_k = k;
      p.top_p = top_p;
      p.min_p = top_p < 1.0f ? 0.05f : 0.0f;
      p.temperature = 1.5f;
      p.seed = 11;
      Sampler direct(p);
      p.repeat_penalty = 1.1f;  // takes the copying path; the empty history leaves it no work
      Sampler copied(p);
      for (int draw = 0; draw < 200; ++draw) {
        ASSERT_EQ(direct.Sample(logits.data(), 5000, {}), copied.Sample(logits.data(), 5000, {}))
            << "k " << k << ", top_p " << top_p << ", draw " << draw;
      }
    }
  }
}

TEST(Sampler, RepetitionPenaltyDemotesSeenTokens) {
  SamplingParams p = Greedy();
  p.repeat_penalty = 1.5f;
  Sampler s(p);
  const std::vector<float> logits = {0.0f, 2.0f, 1.5f};
  EXPECT_EQ(s.Sample(logits.data(), 3, {1}), 2);  // 2.0 / 1.5 < 1.5
  EXPECT_EQ(s.Sample(logits.data(), 3, {}), 1);
}

TEST(Sampler, PresenceAndFrequencyPenalties) {
  SamplingParams p = Greedy();
  p.frequency_penalty = 0.4f;
  Sampler s(p);
  const std::vector<float> logits = {1.0f, 1.5f};
  EXPECT_EQ(s.Sample(logits.data(), 2, {1}), 1);     // 1.5 - 0.4 > 1.0
  EXPECT_EQ(s.Sample(logits.data(), 2, {1, 1}), 0);  // 1.5 - 0.8 < 1.0
  p = Greedy();
  p.presence_penalty = 0.6f;
  Sampler s2(p);
  EXPECT_EQ(s2.Sample(logits.data(), 2, {1}), 0);
}

TEST(Sampler, SameSeedSameSequence) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = std::sin(static_cast<float>(i));
  Sampler a(p), b(p);
  p.seed = 99;
  Sampler c(p);
  std::vector<int32_t> ra, rb, rc;
  for (int i = 0; i < 64; ++i) {
    ra.push_back(a.Sample(logits.data(), 50, {}));
    rb.push_back(b.Sample(logits.data(), 50, {}));
    rc.push_back(c.Sample(logits.data(), 50, {}));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p;
  p.temperature = 5.0f;
  p.top_k = 1;
  Sampler s(p);
  const std::vector<float> logits = {0.0f, 0.1f, 3.0f, 0.2f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.Sample(logits.data(), 4, {}), 2);
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  // Probabilities ~ {0.64, 0.24, 0.09, 0.03}.
  const std::vector<float> logits = {std::log(0.64f), std::log(0.24f), std::log(0.09f),
                                     std::log(0.03f)};
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.min_p = 0.0f;
  p.top_p = 0.8f;  // keeps {0, 1}
  Sampler s(p);
  std::map<int32_t, int> seen;
  for (int i = 0; i < 2000; ++i) seen[s.Sample(logits.data(), 4, {})]++;
  EXPECT_EQ(seen.count(2) + seen.count(3), 0u);
  EXPECT_GT(seen[1], 0);
  p.top_p = 1.0f;
  p.min_p = 0.3f;  // keeps p >= 0.192: {0, 1}
  Sampler m(p);
  seen.clear();
  for (int i = 0; i < 2000; ++i) seen[m.Sample(logits.data(), 4, {})]++;
  EXPECT_EQ(seen.count(2) + seen.count(3), 0u);
  EXPECT_GT(seen[1], 0);
}

// With no top-k the sorted prefix grows until the top-p cut falls inside it: on a flat
// distribution over 3000 tokens, top-p 0.5 keeps exactly the 1500 lowest ids (ties by id), far
// beyond the first partial sort.
TEST(Sampler, TopPCutDeepInALargeVocabulary) {
  const std::vector<float> logits(3000, 0.25f);
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.min_p = 0.0f;
  p.top_p = 0.5f;
  Sampler s(p);
  int32_t max_id = -1;
  for (int i = 0; i < 3000; ++i) {
    const int32_t id = s.Sample(logits.data(), 3000, {});
    ASSERT_LT(id, 1500);
    max_id = std::max(max_id, id);
  }
  EXPECT_GT(max_id, 1400);  // the whole kept set is reachable
}

// Nothing cut: the draw follows the tempered softmax over the whole vocabulary.
TEST(Sampler, UncutDrawFollowsTheSoftmax) {
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(4.0f)};  // 1/7, 2/7, 4/7
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 3;
  Sampler s(p);
  std::map<int32_t, int> seen;
  const int draws = 14000;
  for (int i = 0; i < draws; ++i) seen[s.Sample(logits.data(), 3, {})]++;
  EXPECT_NEAR(seen[0], draws / 7, 200);
  EXPECT_NEAR(seen[1], 2 * draws / 7, 250);
  EXPECT_NEAR(seen[2], 4 * draws / 7, 250);
  // Temperature 2 flattens it to weights 1 : sqrt 2 : 2.
  p.temperature = 2.0f;
  Sampler hot(p);
  seen.clear();
  for (int i = 0; i < draws; ++i) seen[hot.Sample(logits.data(), 3, {})]++;
  const double total = 1 + std::sqrt(2.0) + 2;
  EXPECT_NEAR(seen[0], draws / total, 250);
  EXPECT_NEAR(seen[2], 2 * draws / total, 250);
}

TEST(Sampler, ValidatesParameters) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_NE(ValidateSamplingParams(p).message().find("top_p"), std::string::npos);
  p = SamplingParams();
  p.temperature = NAN;
  EXPECT_FALSE(ValidateSamplingParams(p).ok());
  EXPECT_TRUE(ValidateSamplingParams(SamplingParams()).ok());
}

TEST(TopProbabilities, SoftmaxOfRawLogits) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  auto top = TopProbabilities(logits.data(), 3, 2);
  ASSERT_EQ(top.size(), 2u);
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_NEAR(top[0].second, std::exp(3.0) / z, 1e-6);
  EXPECT_EQ(top[1].first, 2);
  EXPECT_NEAR(top[1].second, std::exp(2.0) / z, 1e-6);
}

}  // namespace
}  // namespace r1d::runtime
