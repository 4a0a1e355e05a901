// `r1d bench` end to end: one JSON row per test and context depth (llama-bench's -d), with the
// fields scripts compare, the table's llama-bench names, and clear errors for bad flags.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "test_util.h"

namespace r1d {
namespace {

using nlohmann::json;
using testing::RunR1d;

TEST(BenchCli, JsonHasEveryTestAtEveryDepth) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = testing::FindTestModel("qwen2-tiny-q8_0.gguf");
  auto r = RunR1d("bench -m " + model + " -p 8 -n 4 -r 2 --batch 1,3 -d 0,20 --json -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json rows = json::parse(r.out);
  ASSERT_TRUE(rows.is_array());
  std::set<std::pair<std::string, int64_t>> seen;
  for (const json& row : rows) {
    EXPECT_GT(row.at("tokens_per_second").get<double>(), 0.0) << row.dump();
    EXPECT_GE(row.at("stddev").get<double>(), 0.0) << row.dump();
    EXPECT_EQ(row.at("repetitions"), 2);
    EXPECT_EQ(row.at("threads"), 2);
    seen.insert({row.at("test").get<std::string>(), row.at("n_depth").get<int64_t>()});
    const std::string test = row.at("test");
    const int64_t n = row.at("n_tokens");
    if (test == "pp8") {
      EXPECT_EQ(n, 8);
    } else if (test == "tg4") {
      EXPECT_EQ(n, 4);
    } else if (test == "tg4@b3") {
      EXPECT_EQ(n, 12);  // 3 sequences of 4 tokens
    }
  }
  const std::set<std::pair<std::string, int64_t>> want = {
      {"pp8", 0},  {"tg4", 0},  {"tg4@b1", 0},  {"tg4@b3", 0},
      {"pp8", 20}, {"tg4", 20}, {"tg4@b1", 20}, {"tg4@b3", 20}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(rows.size(), want.size());
  EXPECT_NE(r.err.find("filling 20 context tokens"), std::string::npos) << r.err;
}

TEST(BenchCli, TableNamesTestsAfterAContextAsLlamaBench) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = testing::FindTestModel("qwen2-tiny-q8_0.gguf");
  auto r = RunR1d("bench -m " + model + " -p 0 -n 3 -r 1 -d 0,7 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| tg3 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| tg3 @ d7 |"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pp"), std::string::npos) << r.out;  // -p 0 skips it
}

TEST(BenchCli, BadDepthIsAClearError) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = testing::FindTestModel("qwen2-tiny-q8_0.gguf");
  for (const char* depth : {"-1", "x", "2000000"}) {
    auto r = RunR1d("bench -m " + model + " -p 8 -n 4 -r 1 -d " + depth);
    EXPECT_EQ(r.signal, 0) << r.err;
    EXPECT_NE(r.exit_code, 0) << depth;
    EXPECT_NE(r.err.find("--depth"), std::string::npos) << depth << ": " << r.err;
  }
}

}  // namespace
}  // namespace r1d
