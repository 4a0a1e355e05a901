// Golden test against the `tokenize` section of ../shared/testdata/oracle/*.oracle.json (what
// llama-server's /tokenize returned): ids and pieces for texts with special tokens, with and
// without add_special, parse_special on.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/gguf_reader.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace r1d::tokenizer {
namespace {

using r1d::testing::FindTestModel;
using r1d::testing::ReadFile;
using r1d::testing::TestDataDir;

std::vector<std::string> OracleFiles() {
  std::vector<std::string> files;
  const std::string dir = TestDataDir() + "/oracle";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      const std::string suffix = ".oracle.json";
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        files.push_back(dir + "/" + name);
      }
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A piece is a string, or a list of byte values when it is not valid UTF-8 on its own.
std::string PieceBytes(const nlohmann::json& piece) {
  if (piece.is_string()) return piece.get<std::string>();
  std::string bytes;
  for (const auto& b : piece) bytes.push_back(static_cast<char>(b.get<int>()));
  return bytes;
}

void CheckOracle(const std::string& model_path, const nlohmann::json& cases) {
  SCOPED_TRACE(model_path);
  auto gguf = formats::GgufFile::Open(model_path);
  ASSERT_TRUE(gguf.ok()) << gguf.status().message();
  auto tok = LoadTokenizer(**gguf);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  for (const auto& c : cases) {
    const std::string text = c.at("text");
    SCOPED_TRACE(text);
    const auto expected = c.at("tokens").get<std::vector<int32_t>>();
    const std::vector<int32_t> got =
        (*tok)->Encode(text, c.at("add_special").get<bool>(), c.at("parse_special").get<bool>());
    EXPECT_EQ(got, expected);
    const auto& pieces = c.at("pieces");
    ASSERT_EQ(pieces.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ((*tok)->TokenPiece(expected[i]), PieceBytes(pieces[i])) << "token " << expected[i];
    }
  }
}

TEST(OracleTokenize, MatchesLlamaServer) {
  R1D_REQUIRE_TESTDATA();
  const std::vector<std::string> files = OracleFiles();
  ASSERT_FALSE(files.empty());
  int checked = 0;
  for (const std::string& file : files) {
    const nlohmann::json oracle = nlohmann::json::parse(ReadFile(file));
    if (!oracle.contains("tokenize")) continue;
    const std::string model = oracle.at("model");
    std::string path = FindTestModel(model);
    if (path.empty()) {
      // Models that are not stored have the deepseek-coder vocabulary (see models/README.md).
      path = TestDataDir() + "/vocab/ggml-vocab-deepseek-coder.gguf";
    }
    CheckOracle(path, oracle.at("tokenize"));
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

}  // namespace
}  // namespace r1d::tokenizer
