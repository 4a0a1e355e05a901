// Tokenizer throughput, one thread: MB/s of input text encoded (English prose, Chinese, code),
// cold (empty word cache) and warm, plus streaming detokenization. Not part of the tests.
//   tokenizer_bench [VOCAB.gguf ...]   (default: the DeepSeek vocabularies of ../shared/testdata)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf_reader.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

using Clock = std::chrono::steady_clock;

// Deterministic pseudo-English: words drawn with a Zipf-like skew, punctuation, numbers.
std::string EnglishText(size_t bytes) {
  static const char* kWords[] = {"the",
                                 "of",
                                 "and",
                                 "to",
                                 "in",
                                 "is",
                                 "that",
                                 "for",
                                 "it",
                                 "as",
                                 "was",
                                 "with",
                                 "be",
                                 "by",
                                 "on",
                                 "not",
                                 "he",
                                 "this",
                                 "are",
                                 "or",
                                 "his",
                                 "from",
                                 "at",
                                 "which",
                                 "but",
                                 "have",
                                 "an",
                                 "had",
                                 "they",
                                 "you",
                                 "were",
                                 "their",
                                 "one",
                                 "all",
                                 "we",
                                 "can",
                                 "her",
                                 "has",
                                 "there",
                                 "been",
                                 "if",
                                 "more",
                                 "when",
                                 "will",
                                 "would",
                                 "who",
                                 "so",
                                 "no",
                                 "model",
                                 "reasoning",
                                 "inference",
                                 "tokenizer",
                                 "attention",
                                 "language",
                                 "question",
                                 "answer",
                                 "because",
                                 "therefore",
                                 "probability",
                                 "distribution",
                                 "experiment",
                                 "government",
                                 "Hello",
                                 "World",
                                 "DeepSeek",
                                 "Transformer",
                                 "sequence",
                                 "parameters",
                                 "understanding",
                                 "mathematics",
                                 "interpretation",
                                 "responsibility",
                                 "quickly",
                                 "don't",
                                 "it's",
                                 "we'll",
                                 "they're",
                                 "I've"};
  constexpr size_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);
  std::mt19937 rng(42);
  std::string text;
  int in_sentence = 0;
  while (text.size() < bytes) {
    // The smaller of two uniform draws: frequent words come first in the list.
    std::string word = kWords[std::min(rng() % kNumWords, rng() % kNumWords)];
    if (in_sentence == 0) word[0] = static_cast<char>(std::toupper(word[0]));
    text += word;
    if (rng() % 23 == 0) text += " " + std::to_string(rng() % 100000);
    if (++in_sentence > 8 + static_cast<int>(rng() % 12)) {
      text += (rng() % 5 == 0) ? "?\n" : ". ";
      in_sentence = 0;
    } else {
      text += (rng() % 9 == 0) ? ", " : " ";
    }
  }
  return text;
}

// Common CJK ideographs with Chinese punctuation and the odd Latin word.
std::string ChineseText(size_t bytes) {
  std::mt19937 rng(7);
  std::string text;
  while (text.size() < bytes) {
    // Skewed toward the first 3000 code points of the block, where common characters live.
    const uint32_t cp = 0x4E00 + static_cast<uint32_t>((rng() % 3000) * (rng() % 3 + 1) % 20000);
    r1d::tokenizer::AppendUtf8(cp, &text);
    const uint32_t r = rng() % 40;
    if (r == 0) text += "，";
    if (r == 1) text += "。";
    if (r == 2) text += " DeepSeek ";
    if (r == 3) text += "2025年";
  }
  return text;
}

std::string CodeText(size_t bytes) {
  const std::string snippet =
      "template <typename T>\nstatic inline T clamp(T v, T lo, T hi) {\n"
      "    if (v < lo) { return lo; }\n    return v > hi ? hi : v;  // saturate\n}\n\n"
      "def tokenize(text: str) -> list[int]:\n    ids = [vocab.get(w, 0) for w in text.split()]\n"
      "    return ids  # TODO(r1d): byte fallback\n\n";
  std::string text;
  int i = 0;
  while (text.size() < bytes) text += snippet + "// block " + std::to_string(i++) + "\n";
  return text;
}

double MbPerSecond(size_t bytes, Clock::duration elapsed) {
  const double s = std::chrono::duration<double>(elapsed).count();
  return s > 0 ? static_cast<double>(bytes) / 1e6 / s : 0.0;
}

void Bench(const std::string& path) {
  auto file = r1d::formats::GgufFile::Open(path);
  if (!file.ok()) {
    std::printf("%s: %s\n", path.c_str(), file.status().message().c_str());
    return;
  }
  const auto load_start = Clock::now();
  auto tok = r1d::tokenizer::LoadTokenizer(**file);
  const auto load_time = Clock::now() - load_start;
  if (!tok.ok()) {
    std::printf("%s: %s\n", path.c_str(), tok.status().message().c_str());
    return;
  }
  std::printf("%s (%d tokens, pre %s), load %.1f ms\n", path.c_str(), (*tok)->n_vocab(),
              (*tok)->pre().c_str(), std::chrono::duration<double, std::milli>(load_time).count());
  struct Corpus {
    const char* name;
    std::string text;
  };
  const size_t kBytes = 4 << 20;
  const Corpus corpora[] = {{"english", EnglishText(kBytes)},
                            {"chinese", ChineseText(kBytes)},
                            {"code", CodeText(kBytes)}};
  for (const Corpus& c : corpora) {
    auto t0 = Clock::now();
    const std::vector<int32_t> ids = (*tok)->Encode(c.text, false, false);
    const auto cold = Clock::now() - t0;
    t0 = Clock::now();
    constexpr int kReps = 3;
    for (int i = 0; i < kReps; ++i) (void)(*tok)->Encode(c.text, false, false);
    const auto warm = (Clock::now() - t0) / kReps;
    t0 = Clock::now();
    r1d::tokenizer::StreamDetokenizer stream(**tok);
    size_t out_bytes = 0;
    for (int32_t id : ids) out_bytes += stream.Feed(id).size();
    out_bytes += stream.Flush().size();
    const auto detok = Clock::now() - t0;
    std::printf(
        "  %-8s %5.1f MB, %8zu tokens (%.2f bytes/token): encode cold %6.1f MB/s, warm %6.1f "
        "MB/s; stream decode %6.1f MB/s\n",
        c.name, static_cast<double>(c.text.size()) / 1e6, ids.size(),
        static_cast<double>(c.text.size()) / static_cast<double>(ids.size()),
        MbPerSecond(c.text.size(), cold), MbPerSecond(c.text.size(), warm),
        MbPerSecond(out_bytes, detok));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) paths.emplace_back(argv[i]);
  if (paths.empty()) {
    const std::string dir = std::string(R1D_SOURCE_DIR) + "/../shared/testdata/vocab/";
    paths = {dir + "ggml-vocab-deepseek-llm.gguf", dir + "ggml-vocab-deepseek-coder.gguf",
             dir + "ggml-vocab-llama-spm.gguf"};
  }
  for (const std::string& path : paths) Bench(path);
  return 0;
}
