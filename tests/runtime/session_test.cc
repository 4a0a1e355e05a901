#include "runtime/session.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace r1d::runtime {
namespace {

TEST(Session, ReusesTheCommonPrefixAndGivesTheSameLogits) {
  R1D_REQUIRE_TESTDATA();
  auto model = models::LoadModel(testing::FindTestModel("qwen2-tiny-q8_0.gguf"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  ThreadPool pool(2);
  auto chat = Session::Create(**model, pool, 128);
  ASSERT_TRUE(chat.ok());
  const std::vector<int32_t> turn1 = {32013, 10, 11, 12, 13, 14};
  std::vector<int32_t> turn2 = turn1;
  for (int32_t t : {20, 21, 22}) turn2.push_back(t);
  ASSERT_TRUE((*chat)->SetTokens(turn1).ok());
  EXPECT_EQ((*chat)->last_evaluated(), 6);
  ASSERT_TRUE((*chat)->SetTokens(turn2).ok());
  EXPECT_EQ((*chat)->last_evaluated(), 3);  // only the new tokens
  // A fresh session over the whole of turn 2 agrees exactly.
  auto fresh = Session::Create(**model, pool, 128);
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->SetTokens(turn2).ok());
  const int64_t V = (*model)->info().n_vocab;
  for (int64_t v = 0; v < V; ++v) ASSERT_EQ((*chat)->logits()[v], (*fresh)->logits()[v]) << v;
  // Editing history re-evaluates from the first difference.
  std::vector<int32_t> edited = turn2;
  edited[3] = 99;
  ASSERT_TRUE((*chat)->SetTokens(edited).ok());
  EXPECT_EQ((*chat)->last_evaluated(), 6);
  // Too long for the context: an error, the session stays usable.
  EXPECT_FALSE((*chat)->SetTokens(std::vector<int32_t>(200, 5)).ok());
  EXPECT_TRUE((*chat)->Append(7).ok());
}

}  // namespace
}  // namespace r1d::runtime
