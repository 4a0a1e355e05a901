#pragma once
// The vocabulary a tokenizer works on: token strings, types, pieces, special ids and the flags
// that drive Encode/Decode, validated and with llama.cpp's per-model defaults applied.
// Internal to the tokenizer module.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace r1d::tokenizer {

struct TokenInfo {
  std::string text;   // as stored in the vocabulary
  std::string piece;  // the bytes it stands for in text
  float score = 0.0f;
  TokenType type = TokenType::kNormal;
  // Swallow whitespace left / right of this special token when it is parsed out of text.
  bool lstrip = false;
  bool rstrip = false;
};

struct Vocab {
  TokenizerKind kind = TokenizerKind::kBpe;
  std::string pre;
  std::vector<TokenInfo> tokens;
  // Token string -> id (the last id wins for duplicated strings). Keys point into `tokens`.
  std::unordered_map<std::string_view, int32_t> text_to_id;

  int32_t bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken;
  int32_t unk = kNoToken, sep = kNoToken, pad = kNoToken, mask = kNoToken;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;

  std::vector<int32_t> end_of_generation;  // sorted
  // Control, user-defined and unknown tokens with non-empty text, longest text first (ties by
  // id): the order in which they are parsed out of text.
  std::vector<int32_t> special_tokens;
  // Byte value -> token for it: the byte-level character (BPE), <0xXX> (SPM). kNoToken if none.
  std::array<int32_t, 256> byte_tokens{};
  size_t max_token_len = 0;
  // SPM: every pair of adjacent characters that occurs inside some token (see CharPairKey). Text
  // can be cut between two characters that form no such pair: no merge ever crosses there.
  std::unordered_set<uint64_t> char_pairs;

  int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
  int32_t Find(std::string_view text) const {
    auto it = text_to_id.find(text);
    return it == text_to_id.end() ? kNoToken : it->second;
  }
  bool IsSpecialType(int32_t id) const {
    const TokenType t = tokens[id].type;
    return t == TokenType::kControl || t == TokenType::kUnknown;
  }
};

// A character for CharPairKey: its code point, or 0x110000 + byte for a byte that is not valid
// UTF-8 there.
inline uint64_t CharPairKey(uint32_t left, uint32_t right) {
  return (static_cast<uint64_t>(left) << 21) | right;
}

// Per-thread scratch vectors keep their capacity from call to call; one huge input must not pin
// its memory to a thread for ever.
template <class T>
void ReleaseLargeScratch(std::vector<T>* v) {
  constexpr size_t kMaxKeptBytes = size_t{4} << 20;
  if (v->capacity() * sizeof(T) > kMaxKeptBytes) std::vector<T>().swap(*v);
}

// `bpe_add_bos` is the add_bos default of the BPE pre-tokenizer family (ignored for SPM / WPM).
// Merges are not looked at here.
Result<std::unique_ptr<Vocab>> BuildVocab(const VocabSpec& spec, bool bpe_add_bos);

// Parses the vocabulary kind out of tokenizer.ggml.model.
Result<TokenizerKind> ParseTokenizerModel(std::string_view model);

}  // namespace r1d::tokenizer
