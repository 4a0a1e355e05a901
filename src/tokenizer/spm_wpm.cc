#include "tokenizer/spm_wpm.h"

#include <algorithm>
#include <string>

#include "tokenizer/unicode.h"

namespace r1d::tokenizer {
namespace {

struct SpmSymbol {
  size_t start;
  size_t n;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;
};

struct SpmCandidate {
  float score;
  int32_t left;
  int32_t right;
  size_t size;
};

// Max-heap order: highest score, then leftmost.
struct SpmCandidateBefore {
  bool operator()(const SpmCandidate& a, const SpmCandidate& b) const {
    return a.score != b.score ? a.score < b.score : a.left > b.left;
  }
};

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

}  // namespace

void SpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out) {
  if (text.empty()) return;
  thread_local std::vector<SpmSymbol> symbols;
  thread_local std::vector<int32_t> segments;
  thread_local std::vector<SpmCandidate> heap;
  symbols.clear();
  segments.clear();
  // One symbol per character (an invalid byte is a symbol of its own). The text is cut into
  // segments where two adjacent characters occur together in no token: merges never cross such
  // a cut, so merging each segment alone gives the same result as merging the whole text, with
  // small heaps instead of one the size of the text.
  uint32_t prev_char = 0;
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char ch = DecodeUtf8(text, pos);
    const uint32_t c = ch.valid ? ch.cp : 0x110000 + static_cast<uint8_t>(text[pos]);
    const auto index = static_cast<int32_t>(symbols.size());
    if (index == 0 || !vocab.char_pairs.contains(CharPairKey(prev_char, c))) {
      segments.push_back(index);
      symbols.push_back({pos, ch.len, -1, -1});
    } else {
      symbols.push_back({pos, ch.len, index - 1, -1});
      symbols[index - 1].next = index;
    }
    prev_char = c;
    pos += ch.len;
  }
  segments.push_back(static_cast<int32_t>(symbols.size()));

  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].n + symbols[right].n;
    const int32_t id = vocab.Find(text.substr(symbols[left].start, size));
    if (id == kNoToken) return;
    heap.push_back({vocab.tokens[id].score, left, right, size});
    std::push_heap(heap.begin(), heap.end(), SpmCandidateBefore{});
  };
  for (size_t s = 0; s + 1 < segments.size(); ++s) {
    heap.clear();
    for (int32_t i = segments[s] + 1; i < segments[s + 1]; ++i) consider(i - 1, i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), SpmCandidateBefore{});
      const SpmCandidate c = heap.back();
      heap.pop_back();
      SpmSymbol& left = symbols[c.left];
      SpmSymbol& right = symbols[c.right];
      // Stale when either side has changed since the candidate was queued.
      if (left.n == 0 || right.n == 0 || left.n + right.n != c.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.left;
      consider(left.prev, c.left);
      consider(c.left, left.next);
    }
    for (int32_t i = segments[s]; i >= 0; i = symbols[i].next) {
      const std::string_view piece = text.substr(symbols[i].start, symbols[i].n);
      const int32_t id = vocab.Find(piece);
      if (id != kNoToken) {
        out->push_back(id);
        continue;
      }
      for (char ch : piece) {  // byte fallback
        const int32_t byte_id = vocab.byte_tokens[static_cast<uint8_t>(ch)];
        if (byte_id != kNoToken) out->push_back(byte_id);
      }
    }
  }
  ReleaseLargeScratch(&symbols);
  ReleaseLargeScratch(&segments);
  ReleaseLargeScratch(&heap);
}

namespace {

std::vector<std::string> WpmWords(std::string_view text) {
  std::vector<std::string> words(1);
  auto finish_word = [&] {
    if (!words.back().empty()) words.emplace_back();
  };
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char ch = DecodeUtf8(text, pos);
    pos += ch.len;
    const uint32_t cp = NfdFirst(ch.cp);
    if (IsWhitespace(cp)) {
      finish_word();
      continue;
    }
    const CharClass cls = GetCharClass(cp);
    if (cp == 0 || cp == kReplacementChar || cls == CharClass::kControl) continue;
    const uint32_t lower = ToLower(cp);
    if (cls == CharClass::kPunctuation || (cp < 0x7F && cls == CharClass::kSymbol) ||
        IsCjkIdeograph(cp)) {
      finish_word();
      AppendUtf8(lower, &words.back());
      words.emplace_back();
    } else {
      AppendUtf8(lower, &words.back());
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void WpmEncode(const Vocab& vocab, std::string_view text, std::vector<int32_t>* out) {
  std::string word;
  for (const std::string& w : WpmWords(text)) {
    word.assign(kSpmSpace);  // the vocabulary marks word starts with U+2581
    word.append(w);
    const size_t n = word.size();
    const size_t start = out->size();
    for (size_t i = 0; i < n;) {
      bool matched = false;
      for (size_t j = std::min(n, i + vocab.max_token_len); j > i; --j) {
        const int32_t id = vocab.Find(std::string_view(word).substr(i, j - i));
        if (id != kNoToken) {
          out->push_back(id);
          i = j;
          matched = true;
          break;
        }
      }
      if (!matched) {
        out->resize(start);  // one unmatched part makes the whole word unknown
        break;
      }
    }
    if (out->size() == start && vocab.unk != kNoToken) out->push_back(vocab.unk);
  }
}

}  // namespace r1d::tokenizer
