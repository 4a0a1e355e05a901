#pragma once
// Streaming split of model output into `reasoning_content` and `content`, as DeepSeek's API
// returns them: text inside <think>...</think> is reasoning, the rest is content.
//
// - The opening tag may come from the prompt (R1 distills' generation prompt ends with
//   "<think>\n": construct with start_in_reasoning) or from the model (a leading "<think>",
//   after optional whitespace, is consumed together with the whitespace that follows it).
// - Tags may be split across chunks: a possible partial tag is held back until it resolves.
// - Whitespace right after </think> (the "\n\n") is dropped from the start of content.
// - A missing </think> at the end leaves everything in reasoning.
// - Disabled: nothing is split; all text is content, unchanged.
// - Deltas never end inside a UTF-8 sequence (held back until complete or Finish()).
// The concatenated deltas are the same however the output is chunked.
#include <string>
#include <string_view>

namespace r1d::tokenizer {

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

struct ReasoningSplitterOptions {
  bool enabled = true;
  bool start_in_reasoning = false;
  std::string open_tag = "<think>";
  std::string close_tag = "</think>";
};

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(ReasoningSplitterOptions options = {});
  // Feeds the next piece of model output; returns what can be emitted now.
  ReasoningDelta Feed(std::string_view text);
  // End of output: flushes anything held back.
  ReasoningDelta Finish();
  // True while text goes to reasoning_content.
  bool in_reasoning() const;

 private:
  enum class State { kStart, kReasoningLead, kReasoning, kAfterClose, kContent };
  void Process(ReasoningDelta& out, bool final);
  void Emit(std::string& dst, size_t n, bool final);

  ReasoningSplitterOptions options_;
  State state_;
  std::string pending_;  // received but not yet emitted
};

// True when a rendered prompt ends inside an open think block (its last open tag comes after
// its last close tag): the reply starts in reasoning mode.
bool PromptOpensThinking(std::string_view prompt, std::string_view open_tag = "<think>",
                         std::string_view close_tag = "</think>");

}  // namespace r1d::tokenizer
