#include "tokenizer/reasoning_splitter.h"

#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t LeadingSpaces(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && IsSpace(s[n])) ++n;
  return n;
}

// Length of the longest suffix of `s` that is a proper prefix of `tag`.
size_t PartialTagSuffix(std::string_view s, std::string_view tag) {
  size_t max = std::min(s.size(), tag.size() - 1);
  for (size_t n = max; n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(ReasoningSplitterOptions options)
    : options_(std::move(options)) {
  if (!options_.enabled) {
    state_ = State::kContent;
  } else {
    // Even when the prompt opened the block, the model may repeat the tag: kStart handles a
    // leading tag in both cases and falls through to reasoning or content.
    state_ = State::kStart;
  }
  if (options_.open_tag.empty() || options_.close_tag.empty()) options_.enabled = false;
  if (!options_.enabled) state_ = State::kContent;
}

bool ReasoningSplitter::in_reasoning() const {
  switch (state_) {
    case State::kStart:
      return options_.start_in_reasoning;
    case State::kReasoningLead:
    case State::kReasoning:
      return true;
    default:
      return false;
  }
}

// Moves the first n bytes of pending_ to dst, holding back an incomplete UTF-8 tail unless
// this is the final flush.
void ReasoningSplitter::Emit(std::string& dst, size_t n, bool final) {
  std::string_view head(pending_.data(), n);
  size_t take = final ? n : jinja::CompleteUtf8Prefix(head);
  dst.append(pending_, 0, take);
  pending_.erase(0, take);
}

void ReasoningSplitter::Process(ReasoningDelta& out, bool final) {
  const std::string& open = options_.open_tag;
  const std::string& close = options_.close_tag;
  while (true) {
    switch (state_) {
      case State::kStart: {
        size_t ws = LeadingSpaces(pending_);
        std::string_view rest = std::string_view(pending_).substr(ws);
        if (rest.size() >= open.size() && rest.substr(0, open.size()) == open) {
          pending_.erase(0, ws + open.size());
          state_ = State::kReasoningLead;
          continue;
        }
        bool maybe_tag =
            rest.size() < open.size() && std::string_view(open).substr(0, rest.size()) == rest;
        if (maybe_tag && !final) return;  // could still become the opening tag
        state_ = options_.start_in_reasoning ? State::kReasoning : State::kContent;
        continue;
      }
      case State::kReasoningLead: {
        size_t ws = LeadingSpaces(pending_);
        pending_.erase(0, ws);
        if (pending_.empty()) {
          if (final) state_ = State::kReasoning;
          return;
        }
        state_ = State::kReasoning;
        continue;
      }
      case State::kReasoning: {
        size_t hit = pending_.find(close);
        if (hit != std::string::npos) {
          out.reasoning.append(pending_, 0, hit);
          pending_.erase(0, hit + close.size());
          state_ = State::kAfterClose;
          continue;
        }
        size_t hold = final ? 0 : PartialTagSuffix(pending_, close);
        Emit(out.reasoning, pending_.size() - hold, final);
        return;
      }
      case State::kAfterClose: {
        size_t ws = LeadingSpaces(pending_);
        pending_.erase(0, ws);
        if (pending_.empty()) return;
        state_ = State::kContent;
        continue;
      }
      case State::kContent:
        Emit(out.content, pending_.size(), final);
        return;
    }
  }
}

ReasoningDelta ReasoningSplitter::Feed(std::string_view text) {
  ReasoningDelta out;
  pending_.append(text);
  Process(out, false);
  return out;
}

ReasoningDelta ReasoningSplitter::Finish() {
  ReasoningDelta out;
  Process(out, true);
  return out;
}

bool PromptOpensThinking(std::string_view prompt, std::string_view open_tag,
                         std::string_view close_tag) {
  size_t open = prompt.rfind(open_tag);
  if (open == std::string_view::npos) return false;
  size_t close = prompt.rfind(close_tag);
  return close == std::string_view::npos || close < open;
}

}  // namespace r1d::tokenizer
