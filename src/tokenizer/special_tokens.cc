#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace r1d::tokenizer {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab)
    : vocab_(vocab), root_children_(256, -1) {
  nodes_.emplace_back();
  for (size_t order = 0; order < vocab.special_tokens.size(); ++order) {
    const std::string& text = vocab.tokens[vocab.special_tokens[order]].text;
    int32_t node = 0;
    for (char c : text) {
      const auto byte = static_cast<uint8_t>(c);
      int32_t child = Child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& children = nodes_[node].children;
        children.insert(
            std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1})),
            {byte, child});
        if (node == 0) root_children_[byte] = child;
      }
      node = child;
    }
    // Tokens sharing a text: the first in parse order wins (the later ones never match).
    if (nodes_[node].order < 0) nodes_[node].order = static_cast<int32_t>(order);
  }
}

int32_t SpecialTokenMatcher::Child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_children_[byte];
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1}));
  return (it != children.end() && it->first == byte) ? it->second : -1;
}

void SpecialTokenMatcher::Partition(std::string_view text, bool parse_special,
                                    std::vector<Fragment>* out) const {
  out->clear();
  if (text.empty()) return;
  out->push_back({kNoToken, 0, text.size()});
  if (vocab_.special_tokens.empty()) return;

  // Which special tokens occur anywhere in the text.
  std::vector<int32_t> present;
  for (size_t i = 0; i < text.size(); ++i) {
    int32_t node = root_children_[static_cast<uint8_t>(text[i])];
    for (size_t j = i + 1; node > 0; ++j) {
      if (nodes_[node].order >= 0) present.push_back(nodes_[node].order);
      if (j == text.size()) break;
      node = Child(node, static_cast<uint8_t>(text[j]));
    }
  }
  if (present.empty()) return;
  std::sort(present.begin(), present.end());
  present.erase(std::unique(present.begin(), present.end()), present.end());

  std::vector<Fragment> next;
  for (int32_t order : present) {
    const int32_t id = vocab_.special_tokens[order];
    const TokenInfo& token = vocab_.tokens[id];
    if (!parse_special && token.type != TokenType::kUserDefined) continue;
    const std::string_view needle = token.text;
    next.clear();
    for (const Fragment& f : *out) {
      if (f.token != kNoToken) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.offset;
      size_t end = f.offset + f.length;
      while (begin < end) {
        const size_t hit = text.substr(0, end).find(needle, begin);
        if (hit == std::string_view::npos) break;
        size_t left_end = hit;
        if (token.lstrip) {
          while (left_end > begin && IsAsciiSpace(text[left_end - 1])) --left_end;
        }
        if (left_end > begin) next.push_back({kNoToken, begin, left_end - begin});
        next.push_back({id, 0, 0});
        begin = hit + needle.size();
        if (token.rstrip) {
          while (begin < end && IsAsciiSpace(text[begin])) ++begin;
        }
      }
      if (begin < end) next.push_back({kNoToken, begin, end - begin});
    }
    out->swap(next);
  }
}

}  // namespace r1d::tokenizer
