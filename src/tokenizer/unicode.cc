#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace r1d::tokenizer {

size_t Utf8SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte, or an overlong 2-byte lead
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

Utf8Char DecodeUtf8(std::string_view s, size_t pos) {
  Utf8Char r;
  r.cp = kReplacementChar;
  const auto b0 = static_cast<uint8_t>(s[pos]);
  const size_t len = Utf8SequenceLength(b0);
  if (len == 0 || pos + len > s.size()) return r;
  if (len == 1) return {b0, 1, true};
  uint32_t cp = b0 & (0xFF >> (len + 1));
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<uint8_t>(s[pos + i]);
    if ((b & 0xC0) != 0x80) return r;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Reject overlong 3/4-byte forms, surrogates and values beyond U+10FFFF.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return r;
  }
  return {cp, len, true};
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacementChar;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

CharClass GetCharClass(uint32_t cp) {
  using unicode_data::kClassRuns;
  using unicode_data::kNumClassRuns;
  const ClassRun* end = kClassRuns + kNumClassRuns;
  const ClassRun* it = std::upper_bound(
      kClassRuns, end, cp, [](uint32_t c, const ClassRun& run) { return c < run.first; });
  if (it == kClassRuns) return CharClass::kUnassigned;
  return static_cast<CharClass>((it - 1)->cls);
}

bool IsWhitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

namespace {

uint32_t LookupPair(const CodepointPair* table, size_t n, uint32_t cp) {
  const CodepointPair* end = table + n;
  const CodepointPair* it =
      std::lower_bound(table, end, cp, [](const CodepointPair& p, uint32_t c) { return p.cp < c; });
  return (it != end && it->cp == cp) ? it->mapped : cp;
}

struct ByteTables {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 256 + 68> to_byte;  // code point -> byte, -1 if not a mapped code point
};

// GPT-2's mapping: printable Latin-1 bytes stand for themselves, the other 68 bytes are moved, in
// order, to U+0100 and up, so every byte becomes a visible character.
const ByteTables& GetByteTables() {
  static const ByteTables tables = [] {
    ByteTables t;
    t.to_byte.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? b : next++;
      t.to_byte[cp] = static_cast<int16_t>(b);
      AppendUtf8(cp, &t.to_unicode[b]);
    }
    return t;
  }();
  return tables;
}

}  // namespace

uint32_t ToLower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  return LookupPair(unicode_data::kLower, unicode_data::kNumLower, cp);
}

uint32_t NfdFirst(uint32_t cp) {
  if (cp < 0xC0) return cp;
  if (cp >= 0xAC00 && cp <= 0xD7A3) return 0x1100 + (cp - 0xAC00) / 588;  // leading jamo
  return LookupPair(unicode_data::kNfdFirst, unicode_data::kNumNfdFirst, cp);
}

bool IsCjkIdeograph(uint32_t cp) {
  // The ranges BERT's tokenizer treats as Chinese characters.
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::string_view ByteToUnicode(uint8_t byte) { return GetByteTables().to_unicode[byte]; }

std::string ByteLevelDecode(std::string_view text) {
  const auto& to_byte = GetByteTables().to_byte;
  std::string out(text.size(), '\0');  // never longer than the text
  size_t n = 0;
  for (size_t i = 0; i < text.size();) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    size_t len = 1;
    int byte = -1;
    if (b0 < 0x80) {
      byte = b0;  // printable ASCII stands for itself; controls are not mapped and kept as is
    } else if (b0 >= 0xC2 && b0 < 0xE0 && i + 1 < text.size() &&
               (static_cast<uint8_t>(text[i + 1]) & 0xC0) == 0x80) {
      // Every mapped code point above U+007F has a two-byte form (U+00A1..U+0143).
      const uint32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3Fu);
      byte = cp < to_byte.size() ? to_byte[cp] : -1;
      len = 2;
    } else {
      len = DecodeUtf8(text, i).len;
    }
    if (byte >= 0) {
      out[n++] = static_cast<char>(byte);
    } else {
      for (size_t k = 0; k < len; ++k) out[n++] = text[i + k];
    }
    i += len;
  }
  out.resize(n);
  return out;
}

int UnicodeToByte(uint32_t cp) {
  const auto& to_byte = GetByteTables().to_byte;
  return cp < to_byte.size() ? to_byte[cp] : -1;
}

}  // namespace r1d::tokenizer
