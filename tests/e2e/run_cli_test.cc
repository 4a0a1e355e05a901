// `r1d run`: a chat driven through stdin ends at /bye or end of input, answering each turn.
#include <gtest/gtest.h>

#include "test_util.h"

namespace r1d {
namespace {

TEST(RunCli, AnswersEachTurnAndQuitsOnBye) {
  R1D_REQUIRE_TESTDATA();
  const std::string dir = testing::MakeTempDir();
  testing::WriteFile(dir + "/in", "Hello\nHow are you?\n/bye\nnot read\n");
  const std::string model = testing::TestDataDir() + "/models/qwen2-tiny-q8_0.gguf";
  auto r = testing::RunR1d("run -m " + model + " -n 5 --temp 0 -t 2 < " + dir + "/in");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Two answers, each ended by a newline; nothing after /bye.
  int lines = 0;
  for (char c : r.out) lines += c == '\n';
  EXPECT_GE(lines, 2) << r.out;
  // Same input, same greedy answers.
  auto again = testing::RunR1d("run -m " + model + " -n 5 --temp 0 -t 2 < " + dir + "/in");
  EXPECT_EQ(again.out, r.out);
  // A template that raises is reported and the chat goes on.
  testing::WriteFile(dir + "/bad.jinja", "{{ raise_exception('no chat here') }}");
  auto bad = testing::RunR1d("run -m " + model + " --chat-template-file " + dir +
                             "/bad.jinja -n 3 < " + dir + "/in");
  EXPECT_EQ(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("no chat here"), std::string::npos) << bad.err;
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace r1d
