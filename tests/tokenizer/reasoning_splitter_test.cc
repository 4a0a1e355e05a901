// Reasoning splitter: the same output fed whole, byte by byte and in random chunks gives the same
// reasoning_content / content.
#include "tokenizer/reasoning_splitter.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer {
namespace {

struct Split {
  std::string reasoning;
  std::string content;
};

// Feeds `text` in pieces of the given sizes (cycled) and checks every delta on the way.
Split Run(const ReasoningSplitterOptions& options, const std::string& text,
          const std::vector<size_t>& sizes) {
  ReasoningSplitter splitter(options);
  Split out;
  size_t pos = 0, k = 0;
  while (pos < text.size()) {
    size_t n = std::min(sizes[k++ % sizes.size()], text.size() - pos);
    ReasoningDelta d = splitter.Feed(std::string_view(text).substr(pos, n));
    pos += n;
    // Streaming deltas must never end inside a UTF-8 sequence.
    EXPECT_EQ(jinja::CompleteUtf8Prefix(d.reasoning), d.reasoning.size());
    EXPECT_EQ(jinja::CompleteUtf8Prefix(d.content), d.content.size());
    out.reasoning += d.reasoning;
    out.content += d.content;
  }
  ReasoningDelta d = splitter.Finish();
  out.reasoning += d.reasoning;
  out.content += d.content;
  return out;
}

// Whole, byte by byte and random chunkings must all agree; returns the split.
Split SplitAll(const ReasoningSplitterOptions& options, const std::string& text) {
  Split whole = Run(options, text, {text.size() + 1});
  Split bytes = Run(options, text, {1});
  EXPECT_EQ(bytes.reasoning, whole.reasoning) << "byte by byte: " << text;
  EXPECT_EQ(bytes.content, whole.content) << "byte by byte: " << text;
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<size_t> sizes;
    for (int i = 0; i < 16; ++i) sizes.push_back(1 + rng() % 7);
    Split random = Run(options, text, sizes);
    EXPECT_EQ(random.reasoning, whole.reasoning) << "random chunks: " << text;
    EXPECT_EQ(random.content, whole.content) << "random chunks: " << text;
  }
  return whole;
}

ReasoningSplitterOptions FromModel() { return ReasoningSplitterOptions{}; }
ReasoningSplitterOptions FromPrompt() {
  ReasoningSplitterOptions o;
  o.start_in_reasoning = true;
  return o;
}
ReasoningSplitterOptions Disabled() {
  ReasoningSplitterOptions o;
  o.enabled = false;
  return o;
}

struct Case {
  ReasoningSplitterOptions options;
  std::string text, reasoning, content;
};

TEST(ReasoningSplitter, SplitsTheSameWhateverTheChunking) {
  const std::vector<Case> cases = {
      // The model opens the block itself (whitespace after <think> is dropped with it).
      {FromModel(), "<think>\nAdd the numbers.\n</think>\n\n2+2 = 4.", "Add the numbers.\n",
       "2+2 = 4."},
      {FromModel(), "\n  <think>x</think>y", "x", "y"},
      {FromModel(), "<think></think>\n\n\nAnswer", "", "Answer"},
      {FromModel(), "No thinking at all.", "", "No thinking at all."},
      {FromModel(), "  leading spaces stay in content", "", "  leading spaces stay in content"},
      {FromModel(), "Answer with <think>late tag</think>", "",
       "Answer with <think>late tag</think>"},
      {FromModel(), "<thin", "", "<thin"},
      {FromModel(), "<think>never closed", "never closed", ""},
      {FromModel(), "<think>a </thinking> b</think>c", "a </thinking> b", "c"},
      {FromModel(), "<think>r</think>", "r", ""},
      {FromModel(), "<think>r</think> \n ", "r", ""},
      {FromModel(), "", "", ""},
      // The prompt opened the block (R1 distills' generation prompt ends with "<think>\n").
      {FromPrompt(), "Let me think.\n</think>\n\nThe answer is 4.", "Let me think.\n",
       "The answer is 4."},
      {FromPrompt(), "no close tag, all reasoning", "no close tag, all reasoning", ""},
      {FromPrompt(), "<think>\nrepeated tag</think>ok", "repeated tag", "ok"},
      {FromPrompt(), "</think>\n\ndirect", "", "direct"},
      {FromPrompt(), "ends in a partial tag </thi", "ends in a partial tag </thi", ""},
      {FromPrompt(), "<", "<", ""},
      // UTF-8 text around and inside the tags.
      {FromPrompt(), "思考：2+2\n</think>\n\n答案是四。😀", "思考：2+2\n", "答案是四。😀"},
      {FromModel(), "<think>é</think>\n\nü", "é", "ü"},
      // Thinking disabled: nothing is split or trimmed.
      {Disabled(), "<think>x</think>\n\ny", "", "<think>x</think>\n\ny"},
      {Disabled(), "plain", "", "plain"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Split s = SplitAll(c.options, c.text);
    EXPECT_EQ(s.reasoning, c.reasoning);
    EXPECT_EQ(s.content, c.content);
  }
}

TEST(ReasoningSplitter, HoldsBackOnlyWhatCouldBeATag) {
  ReasoningSplitter s(FromPrompt());
  ReasoningDelta d = s.Feed("step one </th");
  EXPECT_EQ(d.reasoning, "step one ");  // "</th" may be the start of </think>
  EXPECT_TRUE(s.in_reasoning());
  d = s.Feed("ink>\n\nDone");
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "Done");
  EXPECT_FALSE(s.in_reasoning());
  d = s.Finish();
  EXPECT_TRUE(d.empty());
}

TEST(ReasoningSplitter, WaitsForCompleteUtf8) {
  ReasoningSplitter s(Disabled());
  const std::string smile = "\xF0\x9F\x98\x80";
  ReasoningDelta d = s.Feed("a" + smile.substr(0, 2));
  EXPECT_EQ(d.content, "a");
  d = s.Feed(smile.substr(2));
  EXPECT_EQ(d.content, smile);
  // A truncated sequence at the very end is flushed as it is.
  d = s.Feed("\xE4\xBD");
  EXPECT_EQ(d.content, "");
  d = s.Finish();
  EXPECT_EQ(d.content, "\xE4\xBD");
}

TEST(ReasoningSplitter, RandomTextsAgreeAcrossChunkings) {
  // Random mixes of tag fragments, whitespace and text stress the hold-back logic.
  const std::vector<std::string> pieces = {"<think>", "</think>", "<",    "</", "</th",
                                           "think>",  "\n",       "\n\n", " ",  "abc",
                                           "é",       "<thi",     ">",    "😀"};
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string text;
    int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) text += pieces[rng() % pieces.size()];
    for (const auto& o : {FromModel(), FromPrompt(), Disabled()}) {
      Split s = SplitAll(o, text);
      if (!o.enabled) {
        EXPECT_EQ(s.content, text);
        EXPECT_EQ(s.reasoning, "");
      }
      // Nothing is invented: the split never holds more bytes than the input.
      EXPECT_LE(s.reasoning.size() + s.content.size(), text.size());
    }
  }
}

TEST(ReasoningSplitter, PromptOpensThinking) {
  EXPECT_TRUE(PromptOpensThinking("<｜User｜>Hi<｜Assistant｜><think>\n"));
  EXPECT_FALSE(PromptOpensThinking("<｜User｜>Hi<｜Assistant｜>"));
  EXPECT_FALSE(PromptOpensThinking("<｜Assistant｜><think>\nx</think>\n\nok"));
  EXPECT_TRUE(PromptOpensThinking("<think>a</think> <think>"));
}

}  // namespace
}  // namespace r1d::tokenizer
