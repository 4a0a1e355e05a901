// End-to-end tests of `r1d tokenize` and `r1d detokenize`.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace r1d::testing {
namespace {

std::string Vocab(const std::string& name) {
  return TestDataDir() + "/vocab/ggml-vocab-" + name + ".gguf";
}

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(CliTokenize, PrintsIdsAsJsonArray) {
  R1D_REQUIRE_TESTDATA();
  const std::string dir = MakeTempDir();
  WriteFile(dir + "/in.txt", "Hello world");
  CommandResult r =
      RunR1d("tokenize -m " + Vocab("deepseek-coder") + " --stdin --ids < " + dir + "/in.txt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[17535, 1835]\n");

  // The text is taken as is: a trailing newline is a token.
  WriteFile(dir + "/nl.txt", "Hello world\n");
  r = RunR1d("tokenize -m " + Vocab("deepseek-coder") + " --stdin --ids < " + dir + "/nl.txt");
  EXPECT_EQ(r.out, "[17535, 1835, 185]\n");

  r = RunR1d("tokenize -m " + Vocab("deepseek-coder") + " -p '' --ids");
  EXPECT_EQ(r.out, "[]\n");
}

TEST(CliTokenize, SpecialTokensOnlyWhenAsked) {
  R1D_REQUIRE_TESTDATA();
  const std::string text = "'<｜end▁of▁sentence｜>Hi'";
  CommandResult plain = RunR1d("tokenize -m " + Vocab("deepseek-coder") + " --ids -p " + text);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("32014"), std::string::npos);
  EXPECT_EQ(plain.out.find("32013"), std::string::npos);  // no BOS by default

  CommandResult parsed =
      RunR1d("tokenize -m " + Vocab("deepseek-coder") + " --ids --parse-special -p " + text);
  EXPECT_EQ(parsed.out, "[32014, 11041]\n");
  CommandResult both = RunR1d("tokenize -m " + Vocab("deepseek-coder") +
                              " --ids --parse-special --add-special -p " + text);
  EXPECT_EQ(both.out, "[32013, 32014, 11041]\n");
}

TEST(CliTokenize, ListsPiecesOnePerLine) {
  R1D_REQUIRE_TESTDATA();
  CommandResult r =
      RunR1d("tokenize -m " + Vocab("deepseek-coder") + " -p \"$(printf 'a\\nb c')\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "64\t'a'\n185\t'\\n'\n65\t'b'\n258\t' c'\n");
}

TEST(CliTokenize, FullModelFileWorksToo) {
  R1D_REQUIRE_TESTDATA();
  const std::string model = FindTestModel("stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "stories260K.gguf not found";
  CommandResult r = RunR1d("tokenize -m " + model + " --ids --add-special -p 'Once upon'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("[1, ", 0), 0u) << r.out;
  CommandResult d = RunR1d("detokenize -m " + model + " --no-special --ids '" +
                           r.out.substr(0, r.out.size() - 1) + "'");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, "Once upon");
}

TEST(CliDetokenize, PrintsText) {
  R1D_REQUIRE_TESTDATA();
  CommandResult r = RunR1d("detokenize -m " + Vocab("deepseek-coder") + " --ids 17535,1835,0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world!");
  r = RunR1d("detokenize -m " + Vocab("deepseek-coder") + " --ids 32013,17535");
  EXPECT_EQ(r.out, "<｜begin▁of▁sentence｜>Hello");
  r = RunR1d("detokenize -m " + Vocab("deepseek-coder") + " --no-special --ids 32013,17535");
  EXPECT_EQ(r.out, "Hello");
}

TEST(CliTokenize, ErrorsAreOneLineAndExitOne) {
  R1D_REQUIRE_TESTDATA();
  const std::string v = Vocab("deepseek-coder");
  for (const std::string& args :
       {std::string("tokenize -m /no/such/file.gguf -p x"), "tokenize -m " + v,
        "tokenize -m " + v + " -p x --stdin < /dev/null", "detokenize -m " + v + " --ids 1,x",
        "detokenize -m " + v + " --ids 99999999", "detokenize -m " + v + " --ids=-3",
        "tokenize -m " + TestDataDir() + "/vocab/README.md -p x"}) {
    CommandResult r = RunR1d(args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(CountLines(r.err), 1) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("r1d: error: ", 0), 0u) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace r1d::testing
