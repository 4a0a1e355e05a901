#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

constexpr char32_t kEscapeBase = 0xDC00;  // U+DC80..U+DCFF carry one invalid byte each

bool IsCont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

char32_t NextCodePoint(std::string_view s, size_t* pos) {
  size_t i = *pos;
  unsigned char c = static_cast<unsigned char>(s[i]);
  auto bad = [&]() {
    *pos = i + 1;
    return kEscapeBase + c;
  };
  if (c < 0x80) {
    *pos = i + 1;
    return c;
  }
  int n;
  char32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    cp = c & 0x07;
  } else {
    return bad();
  }
  for (int k = 1; k <= n; ++k) {
    if (i + k >= s.size()) return bad();
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if (!IsCont(cc)) return bad();
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return bad();
  }
  *pos = i + n + 1;
  return cp;
}

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) out.push_back(NextCodePoint(s, &pos));
  return out;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp >= kEscapeBase + 0x80 && cp <= kEscapeBase + 0xFF) {
    out.push_back(static_cast<char>(cp - kEscapeBase));
  } else if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogates cannot be encoded
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    AppendUtf8(out, 0xFFFD);
  }
}

std::string EncodeUtf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) AppendUtf8(out, cp);
  return out;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0, pos = 0;
  while (pos < s.size()) {
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
    } else {
      NextCodePoint(s, &pos);
    }
    ++n;
  }
  return n;
}

size_t CompleteUtf8Prefix(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence is cut off.
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(s[n - back]);
    if (IsCont(c)) continue;
    size_t need = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 4;
    }
    return need > back ? n - back : n;
  }
  return n;
}

bool IsValidUtf8(std::string_view s, size_t* bad_offset) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    char32_t cp = NextCodePoint(s, &pos);
    if (cp >= kEscapeBase + 0x80 && cp <= kEscapeBase + 0xFF) {
      if (bad_offset != nullptr) *bad_offset = start;
      return false;
    }
  }
  return true;
}

bool IsPySpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic: the scripts where
// a one-to-one mapping holds. Other code points are left unchanged.
bool IsPyUpper(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z';
  return ToLowerCp(c) != c;
}
bool IsPyLower(char32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z';
  return ToUpperCp(c) != c || c == 0xDF;
}

char32_t ToUpperCp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 0) ? c - 1 : c;
    if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return (c % 2 == 1) ? c - 1 : c;
  }
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

char32_t ToLowerCp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 1) ? c + 1 : c;
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool IsPyAlpha(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c == 0xAA || c == 0xB5 || c == 0xBA) return true;
  if (c >= 0xC0 && c <= 0x24F) return c != 0xD7 && c != 0xF7;
  if (c >= 0x370 && c <= 0x3FF) return true;
  if (c >= 0x400 && c <= 0x52F) return true;
  // CJK, kana, hangul: letters in Python's sense.
  if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x9FFF) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x20000 && c <= 0x2FFFF)) {
    return true;
  }
  return false;
}

bool IsPyDigit(char32_t c) { return c >= '0' && c <= '9'; }

std::string PyUpper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t c = NextCodePoint(s, &pos);
    if (c == 0xDF) {  // German sharp s upper-cases to "SS"
      out += "SS";
      continue;
    }
    AppendUtf8(out, ToUpperCp(c));
  }
  return out;
}

std::string PyLower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) AppendUtf8(out, ToLowerCp(NextCodePoint(s, &pos)));
  return out;
}

std::string_view PyStrip(std::string_view s, const std::u32string* chars, bool left, bool right) {
  auto strip_me = [&](char32_t c) {
    if (chars == nullptr) return IsPySpace(c);
    return chars->find(c) != std::u32string::npos;
  };
  size_t begin = 0, end = s.size();
  if (left) {
    while (begin < end) {
      size_t next = begin;
      char32_t c = NextCodePoint(s, &next);
      if (!strip_me(c)) break;
      begin = next;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && IsCont(static_cast<unsigned char>(s[start]))) --start;
      size_t probe = start;
      char32_t c = NextCodePoint(s, &probe);
      if (probe != end) {
        // Not a clean code point boundary (invalid bytes): treat the last byte alone.
        start = end - 1;
        probe = start;
        c = NextCodePoint(s, &probe);
      }
      if (!strip_me(c)) break;
      end = start;
    }
  }
  return s.substr(begin, end - begin);
}

std::vector<std::string> PySplitLines(std::string_view s) {
  std::vector<std::string> lines;
  std::string cur;
  size_t pos = 0;
  bool pending = false;
  while (pos < s.size()) {
    size_t start = pos;
    char32_t c = NextCodePoint(s, &pos);
    bool is_break = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
                    c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (is_break) {
      if (c == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
      lines.push_back(std::move(cur));
      cur.clear();
      pending = false;
    } else {
      cur.append(s.substr(start, pos - start));
      pending = true;
    }
  }
  if (pending) lines.push_back(std::move(cur));
  return lines;
}

}  // namespace r1d::tokenizer::jinja
