#pragma once
// The two non-BPE vocabularies: SentencePiece-style (score-driven merges of adjacent pieces, byte
// fallback for what no token covers) and WordPiece (BERT: normalize, split into words, then
// longest-match-first per word).
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace r1d::tokenizer {

// `text` has already had its spaces replaced by U+2581 (and the prefix space added).
void SpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out);

// Lowercases, strips accents (keeping the base letter), drops control characters, splits at
// whitespace and around punctuation and CJK ideographs, then matches each word ("▁" + word)
// greedily against the vocabulary; a word with an unmatched remainder becomes [UNK].
void WpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out);

}  // namespace r1d::tokenizer
