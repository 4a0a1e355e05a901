// Unit tests on small hand-made vocabularies: BPE merge order, special tokens, BOS/EOS flags,
// SentencePiece byte fallback, WordPiece normalization, validation errors.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace r1d::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

// Byte-level text of raw bytes ("a b" -> "aĠb").
std::string Enc(std::string_view raw) {
  std::string out;
  for (char c : raw) out += ByteToUnicode(static_cast<uint8_t>(c));
  return out;
}

// A byte-level BPE vocabulary: ids 0..255 are the bytes, then `words` (raw text) in order;
// `merges` are raw "left right" pairs.
VocabSpec BpeSpec(const std::vector<std::string>& words,
                  const std::vector<std::pair<std::string, std::string>>& merges,
                  std::string pre = "gpt-2") {
  VocabSpec spec;
  spec.model = "gpt2";
  spec.pre = std::move(pre);
  for (int b = 0; b < 256; ++b) spec.tokens.push_back(Enc(std::string(1, static_cast<char>(b))));
  for (const auto& w : words) spec.tokens.push_back(Enc(w));
  for (const auto& [l, r] : merges) spec.merges.push_back(Enc(l) + " " + Enc(r));
  return spec;
}

std::unique_ptr<Tokenizer> MustCreate(VocabSpec spec) {
  auto t = Tokenizer::Create(std::move(spec));
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(Unicode, Utf8DecodeRejectsMalformed) {
  EXPECT_TRUE(DecodeUtf8("\xE4\xBD\xA0", 0).valid);
  EXPECT_EQ(DecodeUtf8("\xE4\xBD\xA0", 0).cp, 0x4F60u);
  EXPECT_FALSE(DecodeUtf8("\xE4\xBD", 0).valid);          // truncated
  EXPECT_FALSE(DecodeUtf8("\xC0\x80", 0).valid);          // overlong
  EXPECT_FALSE(DecodeUtf8("\xED\xA0\x80", 0).valid);      // surrogate
  EXPECT_FALSE(DecodeUtf8("\xF4\x90\x80\x80", 0).valid);  // > U+10FFFF
  EXPECT_EQ(DecodeUtf8("\xFF", 0).len, 1u);
}

TEST(Unicode, ByteLevelMappingIsABijection) {
  EXPECT_EQ(ByteToUnicode(' '), "\xC4\xA0");   // Ġ
  EXPECT_EQ(ByteToUnicode('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(ByteToUnicode('a'), "a");
  for (int b = 0; b < 256; ++b) {
    const std::string_view s = ByteToUnicode(static_cast<uint8_t>(b));
    const Utf8Char ch = DecodeUtf8(s, 0);
    ASSERT_TRUE(ch.valid);
    EXPECT_EQ(UnicodeToByte(ch.cp), b);
  }
}

TEST(Unicode, Properties) {
  EXPECT_EQ(GetCharClass('a'), CharClass::kLetter);
  EXPECT_EQ(GetCharClass(','), CharClass::kPunctuation);
  EXPECT_EQ(GetCharClass('$'), CharClass::kSymbol);
  EXPECT_EQ(GetCharClass(0x300), CharClass::kMark);
  EXPECT_EQ(GetCharClass(0x200B), CharClass::kControl);     // ZERO WIDTH SPACE is Cf
  EXPECT_EQ(ToLower(0xC4), 0xE4u);                          // Ä -> ä
  EXPECT_EQ(NfdFirst(0xE4), static_cast<uint32_t>('a'));    // ä -> a
  EXPECT_EQ(NfdFirst(0x1EED), static_cast<uint32_t>('u'));  // ử -> u
  EXPECT_TRUE(IsWhitespace(0x3000));
  EXPECT_FALSE(IsWhitespace(0x200B));
}

TEST(RegexSplitter, Gpt2SplitsWordsNumbersAndSpaces) {
  auto config = GetPreTokenizerConfig("gpt-2");
  ASSERT_TRUE(config.ok());
  auto splitter = RegexSplitter::Create(config->patterns);
  ASSERT_TRUE(splitter.ok()) << splitter.status().message();
  const std::string text = "Hello world's  123!!\n";
  std::vector<RegexSplitter::Piece> pieces;
  (*splitter)->Split(text, &pieces);
  std::vector<std::string> got;
  for (const auto& p : pieces) got.push_back(text.substr(p.offset, p.length));
  EXPECT_EQ(got, (std::vector<std::string>{"Hello", " world", "'s", " ", " 123", "!!", "\n"}));
}

TEST(RegexSplitter, EveryPreTokenizerCompilesAndCoversInvalidUtf8) {
  for (const char* pre : {"default", "gpt-2", "llama-bpe", "deepseek-llm", "deepseek-coder",
                          "deepseek-v3", "qwen2", "deepseek-r1-qwen", "falcon", "starcoder", "mpt",
                          "refact", "bloom", "viking", "chatglm-bpe", "tekken", "gpt-4o"}) {
    auto config = GetPreTokenizerConfig(pre);
    ASSERT_TRUE(config.ok()) << pre;
    auto splitter = RegexSplitter::Create(config->patterns);
    ASSERT_TRUE(splitter.ok()) << pre << ": " << splitter.status().message();
    const std::string text = "a\xFF\xC3 b\xE4\xBD\xA0 1234 \x80\n\n  x";
    std::vector<RegexSplitter::Piece> pieces;
    (*splitter)->Split(text, &pieces);
    size_t pos = 0;
    for (const auto& p : pieces) {
      EXPECT_EQ(p.offset, pos) << pre;
      EXPECT_GT(p.length, 0u) << pre;
      pos = p.offset + p.length;
    }
    EXPECT_EQ(pos, text.size()) << pre;
  }
  EXPECT_FALSE(GetPreTokenizerConfig("no-such-pre").ok());
}

TEST(RegexSplitter, DollarMeansEndOfPieceOnly) {
  // deepseek-llm's "\s+$" must not match the spaces before a final newline.
  auto splitter = RegexSplitter::Create({R"(\s+$)"});
  ASSERT_TRUE(splitter.ok());
  std::vector<RegexSplitter::Piece> pieces;
  (*splitter)->Split("a  \n", &pieces);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].length, 1u);  // "a"
  EXPECT_EQ(pieces[1].length, 3u);  // "  \n"
}

TEST(RegexSplitter, NonAsciiWhitespaceIsOnlyWhitespace) {
  // As in llama.cpp: U+3000 (ideographic space) lies in DeepSeek's punctuation and CJK ranges but
  // only ever matches as whitespace.
  for (const char* pre : {"deepseek-llm", "deepseek-coder"}) {
    auto config = GetPreTokenizerConfig(pre);
    ASSERT_TRUE(config.ok());
    auto splitter = RegexSplitter::Create(config->patterns);
    ASSERT_TRUE(splitter.ok());
    const std::string text = "\xE3\x80\x82\xE3\x80\x80";  // 。 then U+3000
    std::vector<RegexSplitter::Piece> pieces;
    (*splitter)->Split(text, &pieces);
    ASSERT_EQ(pieces.size(), 2u) << pre;
    EXPECT_EQ(pieces[0].length, 3u) << pre;
  }
}

TEST(Bpe, MergesByRankLeftmostFirst) {
  auto tok = MustCreate(BpeSpec({"aa", "aaa", "ab", "abc", "bc"},
                                {{"a", "a"}, {"b", "c"}, {"a", "b"}, {"aa", "a"}, {"a", "bc"}}));
  ASSERT_NE(tok, nullptr);
  const int32_t aa = 256, aaa = 257, abc = 259, bc = 260;
  EXPECT_EQ(tok->Encode("aa", false, false), (Ids{aa}));
  // "a a" has the best rank; the leftmost pair merges first, then "aa a" (rank 3).
  EXPECT_EQ(tok->Encode("aaa", false, false), (Ids{aaa}));
  EXPECT_EQ(tok->Encode("aaaa", false, false), (Ids{aa, aa}));
  // "b c" (rank 1) beats "a b" (rank 2), then "a bc" merges.
  EXPECT_EQ(tok->Encode("abc", false, false), (Ids{abc}));
  EXPECT_EQ(tok->Encode("bcbc", false, false), (Ids{bc, bc}));
  EXPECT_EQ(tok->Encode("", false, false), Ids{});
  // Pieces are cached: encoding again gives the same ids.
  EXPECT_EQ(tok->Encode("abc abc", false, false), tok->Encode("abc abc", false, false));
}

TEST(Bpe, InvalidUtf8IsTokenizedAsBytes) {
  auto tok = MustCreate(BpeSpec({"he", "hel", "hell", "hello"},
                                {{"h", "e"}, {"he", "l"}, {"hel", "l"}, {"hell", "o"}}));
  ASSERT_NE(tok, nullptr);
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) text.push_back(static_cast<char>(rng() % 256));
    const Ids ids = tok->Encode(text, false, false);
    EXPECT_EQ(tok->Decode(ids), text);
  }
  EXPECT_EQ(tok->Encode("hello\xFF", false, false), (Ids{259, 0xFF}));
}

TEST(Bpe, IgnoreMergesTakesWholeTokens) {
  // Llama 3 style: a piece that is a token is used as is, even without a merge path to it.
  auto tok = MustCreate(BpeSpec({"xyz"}, {}, "llama-bpe"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("xyz", false, false), (Ids{256}));
  auto plain = MustCreate(BpeSpec({"xyz"}, {}, "gpt-2"));
  EXPECT_EQ(plain->Encode("xyz", false, false), (Ids{'x', 'y', 'z'}));
}

TEST(Bpe, SpecialTokensAndFlags) {
  VocabSpec spec = BpeSpec({}, {});
  const auto bos = static_cast<int32_t>(spec.tokens.size());
  spec.tokens.push_back("<|bos|>");
  spec.tokens.push_back("<|im_end|>");
  spec.tokens.push_back("<user>");
  spec.token_types.assign(spec.tokens.size(), 1);
  spec.token_types[bos] = 3;
  spec.token_types[bos + 1] = 3;
  spec.token_types[bos + 2] = 4;  // user-defined: always parsed
  spec.bos_id = bos;
  spec.eos_id = bos + 1;
  spec.add_bos = true;
  auto tok = MustCreate(spec);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("a<|im_end|>", false, true), (Ids{'a', bos + 1}));
  const Ids plain = tok->Encode("a<|im_end|>", false, false);
  EXPECT_GT(plain.size(), 2u);  // the text of a control token stays text
  EXPECT_EQ(tok->Decode(plain), "a<|im_end|>");
  EXPECT_EQ(tok->Encode("<user>b", false, false), (Ids{bos + 2, 'b'}));
  EXPECT_EQ(tok->Encode("b", true, false), (Ids{bos, 'b'}));
  EXPECT_TRUE(tok->IsEndOfGeneration(bos + 1));
  EXPECT_FALSE(tok->IsEndOfGeneration(bos));
  EXPECT_EQ(tok->Decode(Ids{bos, 'b', bos + 1}), "b");
  EXPECT_EQ(tok->Decode(Ids{bos, 'b', bos + 1}, {.render_special = true}), "<|bos|>b<|im_end|>");
  EXPECT_EQ(tok->Decode(Ids{-5, 'b', 1 << 30}), "b");
  EXPECT_EQ(tok->TokenText(' '), "\xC4\xA0");
  EXPECT_EQ(tok->TokenPiece(' '), " ");
  EXPECT_EQ(tok->FindToken("<user>"), bos + 2);
  EXPECT_EQ(tok->FindToken("nope"), kNoToken);
}

TEST(Bpe, EndOfGenerationByText) {
  VocabSpec spec = BpeSpec({}, {});
  const auto base = static_cast<int32_t>(spec.tokens.size());
  spec.tokens.push_back("<|eot_id|>");
  spec.tokens.push_back(
      "<\xEF\xBD\x9C"
      "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  spec.eos_id = base + 1;
  auto tok = MustCreate(spec);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->eot(), base);
  EXPECT_EQ(tok->end_of_generation(), (Ids{base, base + 1}));
  EXPECT_TRUE(tok->IsSpecial(base));  // turned into a control token
}

TEST(Validation, ClearErrors) {
  auto error_of = [](VocabSpec spec) {
    auto t = Tokenizer::Create(std::move(spec));
    return t.ok() ? std::string() : t.status().message();
  };
  VocabSpec good = BpeSpec({"ab"}, {{"a", "b"}});
  EXPECT_EQ(error_of(good), "");

  VocabSpec s = good;
  s.merges.push_back(Enc("a") + " " + Enc("zz"));
  EXPECT_NE(error_of(s).find("is not a token"), std::string::npos);
  s = good;
  s.merges.push_back(Enc("b") + " " + Enc("a"));  // "ba" is not a token
  EXPECT_NE(error_of(s).find("merged"), std::string::npos);
  s = good;
  s.merges.push_back("nospace");
  EXPECT_NE(error_of(s).find("merges[1]"), std::string::npos);
  s = good;
  s.bos_id = 100000;
  EXPECT_NE(error_of(s).find("bos_token_id = 100000 is out of range"), std::string::npos);
  s = good;
  s.eos_id = -7;
  EXPECT_NE(error_of(s).find("eos_token_id"), std::string::npos);
  s = good;
  s.bos_id = kNoToken;  // "none" is fine
  EXPECT_EQ(error_of(s), "");
  s = good;
  s.scores = {1.0f};
  EXPECT_NE(error_of(s).find("scores has 1 entries"), std::string::npos);
  s = good;
  s.token_types = {1, 1};
  EXPECT_NE(error_of(s).find("token_type has 2 entries"), std::string::npos);
  s = good;
  s.pre = "klingon";
  EXPECT_NE(error_of(s).find("unknown pre-tokenizer"), std::string::npos);
  s = good;
  s.model = "rwkv";
  EXPECT_NE(error_of(s).find("unsupported tokenizer.ggml.model"), std::string::npos);
  s = good;
  s.tokens.clear();
  s.merges.clear();
  EXPECT_NE(error_of(s).find("empty"), std::string::npos);
}

// SentencePiece: <unk> <s> </s>, 256 byte tokens, then pieces with scores.
VocabSpec SpmSpec() {
  VocabSpec spec;
  spec.model = "llama";
  spec.tokens = {"<unk>", "<s>", "</s>"};
  spec.token_types = {2, 3, 3};
  spec.scores = {0, 0, 0};
  static const char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    spec.tokens.push_back(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
    spec.token_types.push_back(6);
    spec.scores.push_back(0);
  }
  const std::vector<std::pair<std::string, float>> pieces = {
      {"\xE2\x96\x81", -1}, {"h", -2},  {"e", -2},    {"l", -2},     {"o", -2},
      {"he", -3},           {"ll", -3}, {"hell", -4}, {"hello", -5}, {"\xE2\x96\x81hello", -6},
      {"\xE2\x96\x81h", -7}};
  for (const auto& [text, score] : pieces) {
    spec.tokens.push_back(text);
    spec.token_types.push_back(1);
    spec.scores.push_back(score);
  }
  return spec;
}

TEST(Spm, PrefixSpaceMergesAndByteFallback) {
  auto tok = MustCreate(SpmSpec());
  ASSERT_NE(tok, nullptr);
  const int32_t space = 259, hello_word = 268;
  EXPECT_EQ(tok->Encode("hello", false, false), (Ids{hello_word}));
  EXPECT_EQ(tok->Encode("hello", true, false), (Ids{1, hello_word}));
  // 你 has no piece: its three UTF-8 bytes become byte tokens.
  EXPECT_EQ(tok->Encode("hello \xE4\xBD\xA0", false, false),
            (Ids{hello_word, space, 3 + 0xE4, 3 + 0xBD, 3 + 0xA0}));
  const Ids ids = tok->Encode("hello hello", false, false);
  EXPECT_EQ(tok->Decode(ids), " hello hello");
  EXPECT_EQ(tok->Decode(ids, {.strip_leading_space = true}), "hello hello");
  // After a parsed special token the prefix space comes back.
  EXPECT_EQ(tok->Encode("</s>hello", false, true), (Ids{2, hello_word}));
  EXPECT_EQ(tok->unk(), 0);
  EXPECT_EQ(tok->kind(), TokenizerKind::kSpm);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_FALSE(tok->add_eos());
}

TEST(Wpm, NormalizesAndMatchesLongestFirst) {
  VocabSpec spec;
  spec.model = "bert";
  spec.tokens = {"[PAD]",
                 "[UNK]",
                 "[CLS]",
                 "[SEP]",
                 "\xE2\x96\x81hello",
                 "\xE2\x96\x81he",
                 "llo",
                 "\xE2\x96\x81,",
                 "\xE2\x96\x81"
                 "cafe",
                 "\xE2\x96\x81\xE4\xBD\xA0"};
  spec.token_types = {3, 2, 3, 3, 1, 1, 1, 1, 1, 1};
  spec.unk_id = 1;
  spec.bos_id = 2;
  spec.sep_id = 3;
  auto tok = MustCreate(spec);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("Hello", false, false), (Ids{4}));
  EXPECT_EQ(tok->Encode("HELLO,Caf\xC3\xA9", false, false), (Ids{4, 7, 8}));
  EXPECT_EQ(tok->Encode("\xE4\xBD\xA0xyz", false, false), (Ids{9, 1}));
  EXPECT_EQ(tok->Encode("hello", true, false), (Ids{2, 4, 3}));
  EXPECT_EQ(tok->Decode(Ids{2, 4, 7, 3}, {.strip_leading_space = true}), "hello ,");
}

TEST(StreamDetokenizer, HoldsBackSplitCharacters) {
  auto tok = MustCreate(SpmSpec());
  ASSERT_NE(tok, nullptr);
  StreamDetokenizer stream(*tok);
  // 你 (E4 BD A0) and 😀 (F0 9F 98 80) fed byte by byte.
  EXPECT_EQ(stream.Feed(268), " hello");
  EXPECT_EQ(stream.Feed(3 + 0xE4), "");
  EXPECT_EQ(stream.pending_bytes(), 1u);
  EXPECT_EQ(stream.Feed(3 + 0xBD), "");
  EXPECT_EQ(stream.Feed(3 + 0xA0), "\xE4\xBD\xA0");
  EXPECT_EQ(stream.pending_bytes(), 0u);
  const Ids emoji = {3 + 0xF0, 3 + 0x9F, 3 + 0x98};
  EXPECT_EQ(stream.Feed(emoji), "");
  EXPECT_EQ(stream.Feed(3 + 0x80), "\xF0\x9F\x98\x80");
  // Control tokens are not text.
  EXPECT_EQ(stream.Feed(2), "");
  EXPECT_EQ(stream.Flush(), "");
}

TEST(StreamDetokenizer, InvalidBytesBecomeReplacementCharacters) {
  auto tok = MustCreate(SpmSpec());
  ASSERT_NE(tok, nullptr);
  StreamDetokenizer stream(*tok);
  // A lone continuation byte, then a lead byte interrupted by ASCII.
  EXPECT_EQ(stream.Feed(3 + 0x80), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.Feed(3 + 0xE4), "");
  EXPECT_EQ(stream.Feed(3 + 'a'),
            "\xEF\xBF\xBD"
            "a");
  // An unfinished character at the end is flushed as one U+FFFD.
  EXPECT_EQ(stream.Feed(Ids{3 + 0xE4, 3 + 0xBD}), "");
  EXPECT_EQ(stream.Flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.pending_bytes(), 0u);
  // Overlong / surrogate starts are not waited for.
  EXPECT_EQ(stream.Feed(Ids{3 + 0xED, 3 + 0xA0}), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(StreamDetokenizer, ByteLevelBpeMatchesDecode) {
  auto tok = MustCreate(BpeSpec({"\xE4\xBD"}, {{"\xE4", "\xBD"}}));
  ASSERT_NE(tok, nullptr);
  const std::string text = "x\xE4\xBD\xA0\xE4\xBD\xA0 \xF0\x9F\x98\x80!";
  const Ids ids = tok->Encode(text, false, false);
  StreamDetokenizer stream(*tok);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string part = stream.Feed(id);
    // Every chunk is valid UTF-8 on its own.
    for (size_t i = 0; i < part.size();) {
      const Utf8Char ch = DecodeUtf8(part, i);
      ASSERT_TRUE(ch.valid);
      i += ch.len;
    }
    streamed += part;
  }
  streamed += stream.Flush();
  EXPECT_EQ(streamed, text);
}

TEST(StreamDetokenizer, StripsLeadingSpaceOnceWhenAsked) {
  auto tok = MustCreate(SpmSpec());
  ASSERT_NE(tok, nullptr);
  StreamDetokenizer stream(*tok, {.strip_leading_space = true});
  EXPECT_EQ(stream.Feed(1), "");  // BOS
  EXPECT_EQ(stream.Feed(268), "hello");
  EXPECT_EQ(stream.Feed(268), " hello");
}

}  // namespace
}  // namespace r1d::tokenizer
