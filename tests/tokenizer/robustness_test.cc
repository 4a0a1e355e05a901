// Real vocabularies on hostile or unusual input: long runs, odd whitespace, emoji, invalid UTF-8,
// several threads at once; and streaming detokenization of what they produce.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "formats/gguf_reader.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace r1d::tokenizer {
namespace {

using r1d::testing::TestDataDir;

std::unique_ptr<Tokenizer> LoadVocab(const std::string& name) {
  auto gguf = formats::GgufFile::Open(TestDataDir() + "/vocab/ggml-vocab-" + name + ".gguf");
  EXPECT_TRUE(gguf.ok()) << gguf.status().message();
  if (!gguf.ok()) return nullptr;
  auto tok = LoadTokenizer(**gguf);
  EXPECT_TRUE(tok.ok()) << tok.status().message();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<std::string> HostileTexts() {
  return {
      Repeat(" ", 100000),
      Repeat("\n", 50000),
      Repeat("a", 100000),
      Repeat("1234567890", 10000),
      Repeat("\xF0\x9F\x98\x80", 20000),                // 😀 x 20000
      Repeat(" \t\n\r\v\f\xC2\xA0\xE3\x80\x80", 5000),  // ASCII + NBSP + ideographic space
      Repeat("\xFF\xFE\xC3", 10000),                    // not UTF-8
      Repeat("\xE4\xBD\xA0\xE5\xA5\xBD", 20000),        // 你好
      Repeat("!@#$%^&*()_+{}|:\"<>?`~", 5000),
      "int main() {\n\treturn 0;\n}\n" + Repeat("    ", 1000) + "x",
      "e\xCC\x81\xCC\x81 combining, \xE2\x80\x8B zero width, \xEF\xBB\xBF BOM",
  };
}

bool IsValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const Utf8Char ch = DecodeUtf8(s, i);
    if (!ch.valid) return false;
    i += ch.len;
  }
  return true;
}

// "" when equal, else where they first differ (the texts are too long to print).
std::string Difference(const std::string& got, const std::string& want) {
  if (got == want) return "";
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return "differ at byte " + std::to_string(i) + " (sizes " + std::to_string(got.size()) + " and " +
         std::to_string(want.size()) + ")";
}

// Whether every byte has a token, so that any valid text can be represented exactly.
bool HasAllByteTokens(const Tokenizer& tok) {
  static const char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const std::string spm = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
    const std::string bpe(ByteToUnicode(static_cast<uint8_t>(b)));
    if (tok.FindToken(tok.kind() == TokenizerKind::kBpe ? bpe : spm) == kNoToken) return false;
  }
  return true;
}

class Robustness : public ::testing::TestWithParam<std::string> {};

TEST_P(Robustness, HostileInputRoundTrips) {
  R1D_REQUIRE_TESTDATA();
  auto tok = LoadVocab(GetParam());
  ASSERT_NE(tok, nullptr);
  for (const std::string& text : HostileTexts()) {
    SCOPED_TRACE(text.substr(0, 16));
    const std::vector<int32_t> ids = tok->Encode(text, true, true);
    for (int32_t id : ids) ASSERT_TRUE(tok->IsValid(id));
    if (tok->kind() == TokenizerKind::kWpm) continue;  // normalizes: not reversible
    // Bytes that are not UTF-8 cannot always come back: a vocabulary may lack their byte token
    // (falcon has none for some control characters), or (deepseek-coder) have it as a
    // user-defined token that stands for the character.
    const bool valid = IsValidUtf8(text) && HasAllByteTokens(*tok);
    if (valid) {
      EXPECT_EQ(Difference(tok->Decode(ids, {.strip_leading_space = true}), text), "");
    }
    StreamDetokenizer stream(*tok, {.strip_leading_space = true});
    std::string streamed;
    for (int32_t id : ids) {
      const std::string part = stream.Feed(id);
      ASSERT_TRUE(IsValidUtf8(part));
      streamed += part;
    }
    streamed += stream.Flush();
    ASSERT_TRUE(IsValidUtf8(streamed));
    if (valid) {
      EXPECT_EQ(Difference(streamed, text), "");
    }
  }
}

TEST_P(Robustness, ConcurrentEncodesAgree) {
  R1D_REQUIRE_TESTDATA();
  auto tok = LoadVocab(GetParam());
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    texts.push_back("Request " + std::to_string(i) +
                    ": Hello world, 你好世界! The quick brown fox " + std::to_string(i * 7919) +
                    " jumps over the lazy dog.\n");
  }
  std::vector<std::vector<int32_t>> expected;
  for (const auto& t : texts) expected.push_back(tok->Encode(t, false, false));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i + static_cast<size_t>(t) * 13) % texts.size();
          if (tok->Encode(texts[k], false, false) != expected[k]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, Robustness,
                         ::testing::Values("deepseek-coder", "deepseek-llm", "gpt-2", "falcon",
                                           "llama-spm", "bert-bge"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace r1d::tokenizer
