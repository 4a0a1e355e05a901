#pragma once
// Splits text into special tokens and the plain-text fragments between them, as llama.cpp does:
// special tokens are taken longest first, each one cutting every occurrence out of the fragments
// that are still text. A trie pass first finds which special tokens occur at all, so vocabularies
// with hundreds of special tokens (DeepSeek-V3) cost one scan of the text.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace r1d::tokenizer {

struct Fragment {
  int32_t token = kNoToken;  // a special token, or kNoToken for text
  size_t offset = 0;         // text: the byte range
  size_t length = 0;
};

class SpecialTokenMatcher {
 public:
  explicit SpecialTokenMatcher(const Vocab& vocab);

  // parse_special false: only user-defined tokens are cut out (control and unknown token text
  // stays plain text). Text fragments are non-empty.
  void Partition(std::string_view text, bool parse_special, std::vector<Fragment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t order = -1;  // index into vocab_.special_tokens of the token ending here
  };
  int32_t Child(int32_t node, uint8_t byte) const;

  const Vocab& vocab_;
  std::vector<Node> nodes_;             // nodes_[0] is the root
  std::vector<int32_t> root_children_;  // 256 entries, the root's children for a fast first step
};

}  // namespace r1d::tokenizer
