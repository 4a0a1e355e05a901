// Golden test: every text of ../shared/testdata/vocab/NAME.gguf.inp tokenizes (no BOS, specials
// not parsed) to the ids of NAME.gguf.out, as llama.cpp's test-tokenizer-0 checks them.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf_reader.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace r1d::tokenizer {
namespace {

using r1d::testing::ReadFile;
using r1d::testing::TestDataDir;

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// Texts are separated by "\n__ggml_vocab_test__\n" (each text is followed by one); the .out file
// has one line of space-separated ids per text.
std::vector<VocabCase> ReadCases(const std::string& inp_path, const std::string& out_path) {
  const std::string inp = ReadFile(inp_path);
  const std::string out = ReadFile(out_path);
  std::vector<VocabCase> cases;
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) break;
    cases.push_back({inp.substr(pos, next - pos), {}});
    pos = next + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    if (i >= cases.size()) {
      ADD_FAILURE() << out_path << " has more lines than " << inp_path << " has texts";
      break;
    }
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) cases[i].ids.push_back(id);
  }
  EXPECT_EQ(i, cases.size()) << out_path << " line count vs " << inp_path << " texts";
  return cases;
}

std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

class VocabGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabGolden, MatchesReferenceIds) {
  R1D_REQUIRE_TESTDATA();
  const std::string base = TestDataDir() + "/vocab/ggml-vocab-" + GetParam() + ".gguf";
  auto gguf = formats::GgufFile::Open(base);
  ASSERT_TRUE(gguf.ok()) << gguf.status().message();
  auto tok = LoadTokenizer(**gguf);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const std::vector<VocabCase> cases = ReadCases(base + ".inp", base + ".out");
  ASSERT_GT(cases.size(), 30u);
  int failures = 0;
  for (const VocabCase& c : cases) {
    const std::vector<int32_t> got = (*tok)->Encode(c.text, false, false);
    EXPECT_EQ(Show(got), Show(c.ids)) << "text: '" << c.text << "'";
    failures += got != c.ids;
    // The ids decode back to the text (WordPiece normalizes, so it cannot).
    if ((*tok)->kind() != TokenizerKind::kWpm) {
      EXPECT_EQ((*tok)->Decode(got, {.strip_leading_space = true}), c.text);
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size() << " texts";
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabGolden,
                         ::testing::Values("bert-bge", "deepseek-coder", "deepseek-llm", "falcon",
                                           "gpt-2", "llama-spm", "mpt", "phi-3", "refact",
                                           "starcoder"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// The vocabularies without test texts still load.
TEST(VocabGolden, OtherVocabulariesLoad) {
  R1D_REQUIRE_TESTDATA();
  for (const char* name : {"baichuan", "gpt-neox"}) {
    auto gguf = formats::GgufFile::Open(TestDataDir() + "/vocab/ggml-vocab-" + name + ".gguf");
    ASSERT_TRUE(gguf.ok()) << gguf.status().message();
    auto tok = LoadTokenizer(**gguf);
    ASSERT_TRUE(tok.ok()) << name << ": " << tok.status().message();
    const std::string text = "Hello world! 你好 123";
    const auto ids = (*tok)->Encode(text, false, false);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ((*tok)->Decode(ids, {.strip_leading_space = true}), text) << name;
  }
}

}  // namespace
}  // namespace r1d::tokenizer
