// Loading tokenizers from GGUF metadata: malformed or mistyped tokenizer keys give errors that
// name the key, never a crash.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace r1d::tokenizer {
namespace {

using formats::GgufFile;
using formats::GgufWriter;

// A valid byte-level BPE vocabulary: the 256 byte characters, "ab", "<s>", "</s>".
GgufWriter ValidBpe() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "deepseek-r1-qwen");
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(ByteToUnicode(static_cast<uint8_t>(b)));
  tokens.insert(tokens.end(), {"ab", "<s>", "</s>"});
  std::vector<int32_t> types(tokens.size(), 1);
  types[257] = types[258] = 3;
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  w.SetStringArray("tokenizer.ggml.merges", {"a b"});
  w.SetUint32("tokenizer.ggml.bos_token_id", 257);
  w.SetUint32("tokenizer.ggml.eos_token_id", 258);
  w.SetBool("tokenizer.ggml.add_bos_token", true);
  return w;
}

// Loads the writer's file; returns "" on success, else the error message.
std::string LoadError(const GgufWriter& w) {
  const std::string bytes = w.Finish();
  auto file =
      GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.gguf");
  if (!file.ok()) return "parse: " + file.status().message();
  auto tok = LoadTokenizer(**file);
  return tok.ok() ? "" : tok.status().message();
}

void ExpectError(const GgufWriter& w, const std::string& needle) {
  const std::string error = LoadError(w);
  EXPECT_NE(error.find(needle), std::string::npos) << "error: '" << error << "'";
  EXPECT_NE(error.rfind("parse:", 0), 0u) << "the GGUF itself should be valid";
}

TEST(GgufVocab, ValidFileLoads) {
  const GgufWriter w = ValidBpe();
  const std::string bytes = w.Finish();
  auto file =
      GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.gguf");
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto tok = LoadTokenizer(**file);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ((*tok)->n_vocab(), 259);
  EXPECT_EQ((*tok)->bos(), 257);
  EXPECT_EQ((*tok)->eos(), 258);
  EXPECT_EQ((*tok)->pre(), "deepseek-r1-qwen");
  EXPECT_EQ((*tok)->Encode("ab", true, false), (std::vector<int32_t>{257, 256}));
  EXPECT_TRUE((*tok)->IsEndOfGeneration(258));
}

TEST(GgufVocab, MissingOrMistypedKeys) {
  GgufWriter w = ValidBpe();
  w.SetUint32("tokenizer.ggml.model", 7);
  ExpectError(w, "tokenizer.ggml.model");

  w = ValidBpe();
  w.SetString("tokenizer.ggml.model", "sentencepiece-unigram");
  ExpectError(w, "unsupported tokenizer.ggml.model");

  w = ValidBpe();
  w.SetInt32Array("tokenizer.ggml.tokens", {1, 2, 3});
  ExpectError(w, "'tokenizer.ggml.tokens' must be an array of strings");

  w = ValidBpe();
  w.SetString("tokenizer.ggml.tokens", "abc");
  ExpectError(w, "tokenizer.ggml.tokens");

  w = ValidBpe();
  w.SetStringArray("tokenizer.ggml.scores", {"x"});
  ExpectError(w, "'tokenizer.ggml.scores' must be an array of floats");

  w = ValidBpe();
  w.SetFloat32Array("tokenizer.ggml.token_type", {1.0f});
  ExpectError(w, "'tokenizer.ggml.token_type' must be an array of integers");

  w = ValidBpe();
  w.SetString("tokenizer.ggml.bos_token_id", "1");
  ExpectError(w, "tokenizer.ggml.bos_token_id");

  w = ValidBpe();
  w.SetString("tokenizer.ggml.add_bos_token", "yes");
  ExpectError(w, "tokenizer.ggml.add_bos_token");

  w = ValidBpe();
  w.SetString("tokenizer.ggml.pre", "no-such-pre");
  ExpectError(w, "unknown pre-tokenizer 'no-such-pre'");

  w = ValidBpe();
  w.SetStringArray("tokenizer.ggml.tokens", {});
  w.SetInt32Array("tokenizer.ggml.token_type", {});
  ExpectError(w, "tokenizer.ggml.tokens is empty");
}

TEST(GgufVocab, MissingKeysAreNamed) {
  for (const char* key :
       {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.merges"}) {
    const GgufWriter full = ValidBpe();
    // Rebuild without `key`.
    const std::string bytes = full.Finish();
    auto file =
        GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.gguf");
    ASSERT_TRUE(file.ok());
    GgufWriter w;
    for (const auto& [k, v] : (*file)->metadata()) {
      if (k != key) {
        ASSERT_TRUE(w.SetValue(k, v).ok());
      }
    }
    ExpectError(w, key);
  }
}

TEST(GgufVocab, MismatchedLengthsAndBadIds) {
  GgufWriter w = ValidBpe();
  w.SetFloat32Array("tokenizer.ggml.scores", {0.5f, 0.25f});
  ExpectError(w, "'tokenizer.ggml.scores' has 2 entries but tokenizer.ggml.tokens has 259");

  w = ValidBpe();
  w.SetInt32Array("tokenizer.ggml.token_type", {1});
  ExpectError(w, "'tokenizer.ggml.token_type' has 1 entries");

  w = ValidBpe();
  w.SetUint32("tokenizer.ggml.bos_token_id", 259);
  ExpectError(w, "tokenizer.ggml.bos_token_id = 259 is out of range (the vocabulary has 259");

  w = ValidBpe();
  w.SetUint32("tokenizer.ggml.eos_token_id", 100000);
  ExpectError(w, "eos_token_id = 100000 is out of range");

  w = ValidBpe();
  w.SetInt64("tokenizer.ggml.eos_token_id", int64_t{1} << 40);
  ExpectError(w, "tokenizer.ggml.eos_token_id");

  // 0xFFFFFFFF means "none" (llama2.c conversions write it), and a bad padding id is ignored.
  w = ValidBpe();
  w.SetUint32("tokenizer.ggml.eos_token_id", 0xFFFFFFFFu);
  w.SetUint32("tokenizer.ggml.padding_token_id", 5000);
  EXPECT_EQ(LoadError(w), "");
}

TEST(GgufVocab, BadMerges) {
  GgufWriter w = ValidBpe();
  w.SetStringArray("tokenizer.ggml.merges", {"a b", "a zz"});
  ExpectError(w, "tokenizer.ggml.merges[1] 'a zz': 'zz' is not a token");

  w = ValidBpe();
  w.SetStringArray("tokenizer.ggml.merges", {"b a"});
  ExpectError(w, "the merged 'ba' is not a token");

  w = ValidBpe();
  w.SetStringArray("tokenizer.ggml.merges", {"ab"});
  ExpectError(w, "expected two tokens separated by a space");

  w = ValidBpe();
  w.SetInt32Array("tokenizer.ggml.merges", {1});
  ExpectError(w, "'tokenizer.ggml.merges' must be an array of strings");
}

// Corrupted files: whatever the reader accepts must load or fail cleanly, and encode safely.
TEST(GgufVocab, RandomCorruptionNeverCrashes) {
  const std::string good = ValidBpe().Finish();
  std::mt19937 rng(1234);
  int loaded = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    auto file = GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                "corrupt.gguf");
    if (!file.ok()) continue;
    auto tok = LoadTokenizer(**file);
    if (!tok.ok()) {
      EXPECT_FALSE(tok.status().message().empty());
      continue;
    }
    ++loaded;
    const auto ids = (*tok)->Encode("ab <s> x\xFF\xE4\xBD", true, true);
    (void)(*tok)->Decode(ids, {.render_special = true});
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace r1d::tokenizer
