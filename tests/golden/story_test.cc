// A real trained model (stories260K) must tell exactly the reference story greedily from BOS.
#include <gtest/gtest.h>

#include "test_util.h"

namespace r1d {
namespace {

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \n\t");
  const size_t e = s.find_last_not_of(" \n\t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

TEST(Story, GreedyTextMatchesTheReference) {
  R1D_REQUIRE_TESTDATA();
  const std::string dir = testing::TestDataDir() + "/models/";
  auto r =
      testing::RunR1d("generate -m " + dir + "stories260K.gguf -n 200 --temp 0 --ctx 512 -t 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trim(r.out), Trim(testing::ReadFile(dir + "stories260K.expected.txt")));
}

TEST(Story, TextPromptContinues) {
  R1D_REQUIRE_TESTDATA();
  const std::string dir = testing::TestDataDir() + "/models/";
  // The reference story's first sentence as a prompt: the greedy continuation is the rest of it.
  auto r = testing::RunR1d("generate -m " + dir +
                           "stories260K.gguf -p 'Once upon a time, there was a little girl named "
                           "Lily.' -n 12 --temp 0 --ctx 512");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = testing::ReadFile(dir + "stories260K.expected.txt");
  const std::string after = expected.substr(expected.find("Lily.") + 5);
  EXPECT_EQ(after.rfind(Trim(r.out).substr(0, 20), 1), 1u) << r.out;
}

}  // namespace
}  // namespace r1d
