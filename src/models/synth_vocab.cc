#include "models/synth_vocab.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <sstream>
#include <string_view>
#include <unordered_set>

namespace r1d::models {
namespace {

// Common words of English prose, chat and code, so ordinary text gets multi-byte tokens.
constexpr const char* kSeedText =
    "the be to of and a in that have I it for not on with he as you do at this but his by from "
    "they we say her she or an will my one all would there their what so up out if about who get "
    "which go me when make can like time no just him know take people into year your good some "
    "could them see other than then now look only come its over think also back after use two how "
    "our work first well way even new want because any these give day most us is are was were "
    "question answer reason step solve problem number equation therefore let first second final "
    "hello world please thank help user assistant system model think okay wait hmm so "
    "int char void return include define class struct public private static const auto float "
    "double bool true false null nullptr import from def print self lambda while for else elif "
    "function var let async await yield try catch throw new delete string vector map list";

// GPT-2's reversible byte -> unicode code point map, as UTF-8 strings, indexed by byte.
std::vector<std::string> ByteToUnicode() {
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  std::vector<std::string> map(256);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    map[b] = printable ? utf8(b) : utf8(next++);
  }
  return map;
}

// The 256 byte tokens in GPT-2 vocabulary order: the printable bytes first, then the others.
std::vector<std::string> ByteTokens(const std::vector<std::string>& map) {
  std::vector<std::string> out;
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      if (printable == (pass == 0)) out.push_back(map[b]);
    }
  }
  return out;
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

constexpr const char* kBos = "<｜begin▁of▁sentence｜>";
constexpr const char* kEos = "<｜end▁of▁sentence｜>";
// DeepSeek-V3/R1: ids first .. first + 797 are placeholders, the named specials follow.
constexpr int64_t kV3Placeholders = 798;
constexpr int64_t kV3SpecialSlots = 815;

// Number of code points of a UTF-8 string.
size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

Result<SynthVocab> MakeSynthVocab(SynthVocabLayout layout, int64_t n_regular, int64_t n_vocab,
                                  uint64_t seed) {
  const bool v3 = layout == SynthVocabLayout::kDeepseekV3;
  const int64_t special_slots = v3 ? kV3SpecialSlots : 16;
  if (n_regular < 512 || n_vocab < n_regular + special_slots)
    return Status::Error("synthetic vocabulary: needs at least 512 regular tokens and " +
                         std::to_string(special_slots) + " special slots (got " +
                         std::to_string(n_regular) + " of " + std::to_string(n_vocab) + ")");
  SynthVocab v;
  const std::vector<std::string> map = ByteToUnicode();
  v.tokens = ByteTokens(map);
  std::unordered_set<std::string> seen(v.tokens.begin(), v.tokens.end());
  seen.reserve(static_cast<size_t>(n_vocab) * 2);
  // V3's bos / eos / pad come before the byte tokens and take three of the regular ids.
  const std::vector<std::string> leading =
      v3 ? std::vector<std::string>{kBos, kEos, "<｜▁pad▁｜>"} : std::vector<std::string>{};
  const size_t limit = static_cast<size_t>(n_regular) - leading.size();
  auto merge = [&](const std::string& a, const std::string& b) {
    std::string t = a + b;
    if (v.tokens.size() < limit && seen.insert(t).second) {
      v.tokens.push_back(t);
      v.merges.push_back(a + " " + b);
    }
    return t;
  };
  auto encode = [&](const std::string& text) {
    std::vector<std::string> chars;
    for (unsigned char c : text) chars.push_back(map[c]);
    return chars;
  };
  // Seed words, with a leading space, bare and capitalized, merged left to right. A word whose
  // prefix was not added (vocabulary full) stops: later merges would name a missing token.
  std::istringstream words(kSeedText);
  for (std::string w; words >> w;) {
    std::string cap = w;
    cap[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(cap[0])));
    for (const std::string& form : {" " + w, w, " " + cap}) {
      const std::vector<std::string> chars = encode(form);
      std::string cur = chars[0];
      for (size_t i = 1; i < chars.size(); ++i) {
        cur = merge(cur, chars[i]);
        if (!seen.count(cur) || v.tokens.size() >= limit) break;
      }
    }
  }
  // Runs of spaces and newlines (indentation, paragraphs).
  const std::string sp = map[' '], nl = map['\n'];
  std::string run = sp;
  for (int i = 0; i < 15; ++i) run = merge(run, sp);
  merge(nl, nl);
  // Filler: an existing token joined with an early (short) one, at most 16 code points.
  uint64_t state = seed * 0x2545F4914F6CDD1DULL + 1;
  while (v.tokens.size() < limit) {
    const size_t n = v.tokens.size();
    const std::string& a = v.tokens[SplitMix64(state) % n];
    const std::string& b = v.tokens[SplitMix64(state) % std::min<size_t>(n, 4096)];
    if (CodePoints(a) + CodePoints(b) <= 16) merge(std::string(a), std::string(b));
  }
  v.token_types.assign(v.tokens.size(), 1);
  v.tokens.insert(v.tokens.begin(), leading.begin(), leading.end());
  v.token_types.insert(v.token_types.begin(), leading.size(), 3);

  const int32_t first = static_cast<int32_t>(n_regular);
  std::vector<std::pair<int32_t, std::pair<std::string, int32_t>>> specials;
  // How the ids between and after the specials are filled: unused "[PAD<id>]" tokens (what the
  // converters write for ids the tokenizer lacks) or control placeholders (Llama-3, V3).
  int64_t placeholders_end = first;
  switch (layout) {
    case SynthVocabLayout::kQwen:
      v.pre = "deepseek-r1-qwen";
      specials = {{first + 0, {kEos, 3}},
                  {first + 1, {"<｜User｜>", 3}},
                  {first + 2, {"<｜Assistant｜>", 3}},
                  {first + 3, {kBos, 3}},
                  {first + 4, {"<|EOT|>", 3}},
                  {first + 5, {"<think>", 4}},
                  {first + 6, {"</think>", 4}}};
      v.bos_id = first + 3;
      v.eos_id = first + 0;
      v.pad_id = first + 0;
      break;
    case SynthVocabLayout::kLlama:
      v.pre = "llama-bpe";
      specials = {{first + 0, {kBos, 3}},          {first + 1, {kEos, 3}},
                  {first + 11, {"<｜User｜>", 3}}, {first + 12, {"<｜Assistant｜>", 3}},
                  {first + 13, {"<think>", 4}},    {first + 14, {"</think>", 4}},
                  {first + 15, {"<｜▁pad▁｜>", 3}}};
      v.bos_id = first + 0;
      v.eos_id = first + 1;
      v.pad_id = first + 15;
      placeholders_end = n_vocab;
      break;
    case SynthVocabLayout::kDeepseekLlm:
      v.pre = "deepseek-llm";
      specials = {{first + 0, {kBos, 3}}, {first + 1, {kEos, 3}}};
      v.bos_id = first + 0;
      v.eos_id = first + 1;
      v.pad_id = first + 1;
      break;
    case SynthVocabLayout::kDeepseekV3: {
      v.pre = "deepseek-v3";
      const char* const named[] = {"<think>",
                                   "</think>",
                                   "<｜fim▁hole｜>",
                                   "<｜fim▁begin｜>",
                                   "<｜fim▁end｜>",
                                   "<｜User｜>",
                                   "<｜Assistant｜>",
                                   "<|EOT|>",
                                   "<｜tool▁calls▁begin｜>",
                                   "<｜tool▁calls▁end｜>",
                                   "<｜tool▁call▁begin｜>",
                                   "<｜tool▁call▁end｜>",
                                   "<｜tool▁outputs▁begin｜>",
                                   "<｜tool▁outputs▁end｜>",
                                   "<｜tool▁output▁begin｜>",
                                   "<｜tool▁output▁end｜>",
                                   "<｜tool▁sep｜>"};
      static_assert(std::size(named) == kV3SpecialSlots - kV3Placeholders);
      int32_t id = first + kV3Placeholders;
      for (const char* name : named) {
        const bool think = std::string_view(name).find("think>") != std::string_view::npos;
        specials.push_back({id++, {name, think ? 4 : 3}});
      }
      v.bos_id = 0;
      v.eos_id = 1;
      v.pad_id = 2;
      placeholders_end = first + kV3Placeholders;
      break;
    }
  }
  size_t k = 0;
  for (int64_t id = n_regular; id < n_vocab; ++id) {
    if (k < specials.size() && specials[k].first == id) {
      v.tokens.push_back(specials[k].second.first);
      v.token_types.push_back(specials[k].second.second);
      ++k;
    } else if (id < placeholders_end) {
      v.tokens.push_back("<｜place▁holder▁no▁" + std::to_string(id - n_regular) + "｜>");
      v.token_types.push_back(3);
    } else {
      v.tokens.push_back("[PAD" + std::to_string(id) + "]");
      v.token_types.push_back(5);
    }
  }
  return v;
}

}  // namespace r1d::models
