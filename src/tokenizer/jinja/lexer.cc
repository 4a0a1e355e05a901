#include "tokenizer/jinja/lexer.h"

#include <charconv>
#include <cstring>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Newlines are normalized to "\n" before lexing, as Jinja2 does (in string literals too).
std::string NormalizeNewlines(std::string_view in, bool keep_trailing_newline) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out.push_back(in[i]);
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view source, const LexerOptions& options)
      : src_(NormalizeNewlines(source, options.keep_trailing_newline)), opts_(options) {}

  std::vector<Token> Run() {
    while (pos_ < src_.size()) {
      size_t p = FindTagStart(pos_);
      if (p == std::string::npos) {
        EmitData(pos_, src_.size());
        pos_ = src_.size();
        break;
      }
      LexTag(p);
    }
    Token eof;
    eof.type = TokenType::kEof;
    eof.line = LineAt(src_.size());
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  // Line number of a byte offset; offsets only move forward, so count incrementally.
  int LineAt(size_t offset) {
    while (line_pos_ < offset && line_pos_ < src_.size()) {
      if (src_[line_pos_] == '\n') ++line_;
      ++line_pos_;
    }
    return line_;
  }

  [[noreturn]] void Fail(const std::string& message, size_t offset) {
    ThrowSyntax(message, LineAt(offset));
  }

  size_t FindTagStart(size_t from) const {
    size_t p = from;
    while (true) {
      p = src_.find('{', p);
      if (p == std::string::npos || p + 1 >= src_.size()) return std::string::npos;
      char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      ++p;
    }
  }

  size_t SkipSpaces(size_t p) const {
    while (p < src_.size()) {
      size_t next = p;
      char32_t c = NextCodePoint(src_, &next);
      if (!IsPySpace(c)) break;
      p = next;
    }
    return p;
  }

  void EmitData(size_t begin, size_t end) {
    if (end <= begin) return;
    Token t;
    t.type = TokenType::kData;
    t.value = src_.substr(begin, end - begin);
    t.line = LineAt(begin);
    tokens_.push_back(std::move(t));
  }

  void Emit(TokenType type, std::string value, size_t offset) {
    Token t;
    t.type = type;
    t.value = std::move(value);
    t.line = LineAt(offset);
    tokens_.push_back(std::move(t));
  }

  // Text before a tag: applies "-" (strip all trailing whitespace) or lstrip_blocks (strip the
  // indentation of a line that holds only the tag) and emits it.
  void EmitTextBefore(size_t text_begin, size_t tag_pos, char kind, char sign) {
    size_t end = tag_pos;
    std::string_view text(src_.data() + text_begin, tag_pos - text_begin);
    if (sign == '-') {
      end = text_begin + PyStrip(text, nullptr, false, true).size();
    } else if (sign != '+' && opts_.lstrip_blocks && kind != '{') {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting_) {
        std::string_view rest = text.substr(l_pos);
        if (!rest.empty() && PyStrip(rest, nullptr, true, false).empty()) end = text_begin + l_pos;
      }
    }
    EmitData(text_begin, end);
  }

  void LexTag(size_t p) {
    char kind = src_[p + 1];
    size_t after = p + 2;
    char sign = 0;
    if (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
    if (kind == '%' && TryRaw(p, after, sign)) return;
    EmitTextBefore(pos_, p, kind, sign);
    if (kind == '#') {
      LexComment(p, after);
      return;
    }
    Emit(kind == '{' ? TokenType::kVariableBegin : TokenType::kBlockBegin, "", p);
    LexInside(p, after, kind == '%');
  }

  void LexComment(size_t open, size_t after) {
    size_t q = src_.find("#}", after);
    if (q == std::string::npos) Fail("missing end of comment tag (comment opened here)", open);
    size_t end = q + 2;
    if (q > after && src_[q - 1] == '-') {
      end = SkipSpaces(end);
    } else if (q > after && src_[q - 1] == '+') {
      // keep the newline
    } else if (opts_.trim_blocks && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    Finish(end);
  }

  void Finish(size_t end) {
    line_starting_ = end > 0 && src_[end - 1] == '\n';
    pos_ = end;
  }

  // Matches `\s*raw\s*(-%}\s*|%})` after "{%"; if found, emits the raw body as data.
  bool TryRaw(size_t p, size_t after, char sign) {
    size_t q = SkipSpaces(after);
    if (src_.compare(q, 3, "raw") != 0) return false;
    q = SkipSpaces(q + 3);
    size_t body;
    if (src_.compare(q, 3, "-%}") == 0) {
      body = SkipSpaces(q + 3);
    } else if (src_.compare(q, 2, "%}") == 0) {
      body = q + 2;
    } else {
      return false;
    }
    EmitTextBefore(pos_, p, '%', sign);
    // Find `{%[-+]?\s*endraw\s*(+%}|-%}\s*|%}\n?)`.
    size_t search = body;
    while (true) {
      size_t s = src_.find("{%", search);
      if (s == std::string::npos) Fail("missing end of raw directive", p);
      size_t r = s + 2;
      char esign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) esign = src_[r++];
      r = SkipSpaces(r);
      if (src_.compare(r, 6, "endraw") != 0) {
        search = s + 2;
        continue;
      }
      r = SkipSpaces(r + 6);
      size_t end;
      if (src_.compare(r, 3, "+%}") == 0) {
        end = r + 3;
      } else if (src_.compare(r, 3, "-%}") == 0) {
        end = SkipSpaces(r + 3);
      } else if (src_.compare(r, 2, "%}") == 0) {
        end = r + 2;
        if (opts_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
      } else {
        search = s + 2;
        continue;
      }
      line_starting_ = src_[body - 1] == '\n';
      pos_ = body;
      EmitTextBefore(body, s, '%', esign);
      Finish(end);
      return true;
    }
  }

  // Tokens inside {{ }} or {% %}; the closing delimiter only counts outside brackets.
  void LexInside(size_t open, size_t p, bool block) {
    std::vector<char> brackets;
    int open_line = LineAt(open);
    while (true) {
      p = SkipSpaces(p);
      if (p >= src_.size()) {
        ThrowSyntax(std::string("unexpected end of template: '") + (block ? "{%" : "{{") +
                        "' opened here is never closed",
                    open_line);
      }
      if (brackets.empty()) {
        if (block) {
          if (src_.compare(p, 3, "-%}") == 0) {
            Emit(TokenType::kBlockEnd, "", p);
            Finish(SkipSpaces(p + 3));
            return;
          }
          if (src_.compare(p, 3, "+%}") == 0) {
            Emit(TokenType::kBlockEnd, "", p);
            Finish(p + 3);
            return;
          }
          if (src_.compare(p, 2, "%}") == 0) {
            Emit(TokenType::kBlockEnd, "", p);
            size_t end = p + 2;
            if (opts_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
            Finish(end);
            return;
          }
        } else {
          if (src_.compare(p, 3, "-}}") == 0) {
            Emit(TokenType::kVariableEnd, "", p);
            Finish(SkipSpaces(p + 3));
            return;
          }
          if (src_.compare(p, 2, "}}") == 0) {
            Emit(TokenType::kVariableEnd, "", p);
            Finish(p + 2);
            return;
          }
        }
      }
      p = LexOne(p, brackets);
    }
  }

  size_t MatchDigits(size_t p) const {
    // (\d+_)*\d+
    size_t q = p;
    if (q >= src_.size() || !IsDigit(src_[q])) return p;
    while (true) {
      while (q < src_.size() && IsDigit(src_[q])) ++q;
      if (q + 1 < src_.size() && src_[q] == '_' && IsDigit(src_[q + 1])) {
        ++q;
        continue;
      }
      return q;
    }
  }

  // Returns the end of a float literal at p, or p when there is none.
  size_t MatchFloat(size_t p) const {
    if (p > 0 && src_[p - 1] == '.') return p;
    size_t q = MatchDigits(p);
    if (q == p) return p;
    size_t frac_end = q;
    if (q < src_.size() && src_[q] == '.') {
      size_t f = MatchDigits(q + 1);
      if (f > q + 1) frac_end = f;
    }
    size_t e = frac_end;
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t s = e + 1;
      if (s < src_.size() && (src_[s] == '+' || src_[s] == '-')) ++s;
      size_t x = MatchDigits(s);
      if (x > s) return x;
    }
    return frac_end > q ? frac_end : p;
  }

  size_t LexNumber(size_t p) {
    size_t f = MatchFloat(p);
    if (f > p) {
      std::string text;
      for (size_t i = p; i < f; ++i) {
        if (src_[i] != '_') text.push_back(src_[i]);
      }
      double v = 0;
      std::from_chars(text.data(), text.data() + text.size(), v);
      Token t;
      t.type = TokenType::kFloat;
      t.float_value = v;
      t.value = text;
      t.line = LineAt(p);
      tokens_.push_back(std::move(t));
      return f;
    }
    int base = 10;
    size_t q = p;
    if (src_[p] == '0' && p + 1 < src_.size()) {
      char x = static_cast<char>(src_[p + 1] | 0x20);
      if (x == 'b') base = 2;
      if (x == 'o') base = 8;
      if (x == 'x') base = 16;
    }
    std::string digits;
    if (base != 10) {
      q = p + 2;
      while (q < src_.size()) {
        char c = src_[q];
        if (c == '_' && q + 1 < src_.size() && HexValue(src_[q + 1]) >= 0 &&
            HexValue(src_[q + 1]) < base) {
          ++q;
          continue;
        }
        int h = HexValue(c);
        if (h < 0 || h >= base) break;
        digits.push_back(c);
        ++q;
      }
      if (digits.empty()) {  // "0b" without digits: just the integer 0
        base = 10;
        q = p + 1;
        digits = "0";
      }
    } else if (src_[p] == '0') {
      // 0(_?0)*
      q = p + 1;
      while (q < src_.size()) {
        if (src_[q] == '0') {
          ++q;
        } else if (src_[q] == '_' && q + 1 < src_.size() && src_[q + 1] == '0') {
          q += 2;
        } else {
          break;
        }
      }
      digits = "0";
    } else {
      q = MatchDigits(p);
      for (size_t i = p; i < q; ++i) {
        if (src_[i] != '_') digits.push_back(src_[i]);
      }
    }
    uint64_t v = 0;
    auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (res.ec != std::errc() || v > static_cast<uint64_t>(INT64_MAX)) {
      Fail("integer literal too large (r1d supports 64-bit integers)", p);
    }
    Token t;
    t.type = TokenType::kInteger;
    t.int_value = static_cast<int64_t>(v);
    t.value = src_.substr(p, q - p);
    t.line = LineAt(p);
    tokens_.push_back(std::move(t));
    return q;
  }

  // Python's "unicode-escape" decoding of a string literal body.
  std::string Unescape(std::string_view body, size_t offset) {
    std::string out;
    out.reserve(body.size());
    for (size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c != '\\' || i + 1 >= body.size()) {
        out.push_back(c);
        continue;
      }
      char e = body[++i];
      switch (e) {
        case '\n':
          break;  // line continuation
        case '\\':
          out.push_back('\\');
          break;
        case '\'':
          out.push_back('\'');
          break;
        case '"':
          out.push_back('"');
          break;
        case 'a':
          out.push_back('\a');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          char32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            if (i + 1 >= body.size() || HexValue(body[i + 1]) < 0) {
              Fail(std::string("truncated \\") + e + " escape in string literal", offset);
            }
            cp = cp * 16 + static_cast<char32_t>(HexValue(body[++i]));
          }
          if (cp > 0x10FFFF) Fail("illegal Unicode character in string literal", offset);
          AppendUtf8(out, cp);
          break;
        }
        case 'N':
          Fail("\\N{...} escapes are not supported in string literals", offset);
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0;
                 k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
              cp = cp * 8 + static_cast<char32_t>(body[++i] - '0');
            }
            AppendUtf8(out, cp);
          } else {
            out.push_back('\\');  // unknown escapes stay as written
            out.push_back(e);
          }
      }
    }
    return out;
  }

  size_t LexOne(size_t p, std::vector<char>& brackets) {
    char c = src_[p];
    if (IsDigit(c)) return LexNumber(p);
    if (IsNameStart(c)) {
      size_t q = p;
      while (q < src_.size() && IsNameChar(src_[q])) ++q;
      Emit(TokenType::kName, src_.substr(p, q - p), p);
      return q;
    }
    if (c == '\'' || c == '"') {
      size_t q = p + 1;
      while (q < src_.size() && src_[q] != c) q += (src_[q] == '\\') ? 2 : 1;
      if (q >= src_.size()) Fail("unterminated string literal", p);
      Emit(TokenType::kString, Unescape(std::string_view(src_).substr(p + 1, q - p - 1), p), p);
      return q + 1;
    }
    static const char* const kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (src_.compare(p, 2, op) == 0) {
        Emit(TokenType::kOperator, op, p);
        return p + 2;
      }
    }
    if (std::strchr("+-/*%~[](){}><=.:|,;", c) != nullptr && c != '\0') {
      if (c == '(' || c == '[' || c == '{') {
        brackets.push_back(c == '(' ? ')' : (c == '[' ? ']' : '}'));
      } else if (c == ')' || c == ']' || c == '}') {
        if (brackets.empty()) Fail(std::string("unexpected '") + c + "'", p);
        char want = brackets.back();
        brackets.pop_back();
        if (want != c) Fail(std::string("unexpected '") + c + "', expected '" + want + "'", p);
      }
      Emit(TokenType::kOperator, std::string(1, c), p);
      return p + 1;
    }
    size_t next = p;
    char32_t cp = NextCodePoint(src_, &next);
    std::string shown;
    AppendUtf8(shown, cp);
    Fail("unexpected character '" + shown + "' in tag", p);
  }

  std::string src_;
  LexerOptions opts_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  int line_ = 1;
  size_t line_pos_ = 0;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source, const LexerOptions& options) {
  return Lexer(source, options).Run();
}

}  // namespace r1d::tokenizer::jinja
