#pragma once
// Pre-tokenization of byte-level BPE: a sequence of regexes, each splitting every piece the
// previous one produced into its matches and the gaps between them (llama.cpp's semantics; a
// regex only sees the piece it splits). Compiled with PCRE2 (UTF, UCP, JIT); bytes that are not
// valid UTF-8 never match and end up in the gaps, so any input splits without error.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace r1d::tokenizer {

// What a tokenizer.ggml.pre value implies for byte-level BPE.
struct PreTokenizerConfig {
  std::vector<std::string> patterns;  // regexes, in the order they apply
  bool ignore_merges = false;         // a piece that is itself a token is not merged (Llama 3)
  bool add_bos = false;               // default of add_bos_token for this family
};
// Unknown names are an error.
Result<PreTokenizerConfig> GetPreTokenizerConfig(std::string_view pre);

class RegexSplitter {
 public:
  // Patterns use PCRE2 syntax; `\s` / `\S` are taken as the Unicode White_Space property.
  static Result<std::unique_ptr<RegexSplitter>> Create(const std::vector<std::string>& patterns);
  RegexSplitter() = default;  // splits nothing: use Create
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  struct Piece {
    size_t offset;
    size_t length;
  };
  // Replaces *pieces with the split of `text`: non-empty, in order, covering all of it.
  // Thread-safe.
  void Split(std::string_view text, std::vector<Piece>* pieces) const;

 private:
  struct Regex;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace r1d::tokenizer
