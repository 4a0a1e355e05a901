#pragma once
// UTF-8 helpers with Python str semantics: Jinja strings are sequences of code points, so length,
// indexing, slicing, case mapping and whitespace follow Python, not bytes. Invalid bytes decode
// to U+DC80..U+DCFF (like Python's surrogateescape) and encode back to the same byte, so any
// input round-trips unchanged.
#include <string>
#include <string_view>
#include <vector>

namespace r1d::tokenizer::jinja {

std::u32string DecodeUtf8(std::string_view s);
void AppendUtf8(std::string& out, char32_t cp);
std::string EncodeUtf8(std::u32string_view s);
// Number of code points.
size_t Utf8Length(std::string_view s);
// Decodes the code point starting at s[*pos] and advances *pos.
char32_t NextCodePoint(std::string_view s, size_t* pos);
// Byte length of a complete UTF-8 prefix (drops a trailing incomplete sequence).
size_t CompleteUtf8Prefix(std::string_view s);
bool IsValidUtf8(std::string_view s, size_t* bad_offset);

// Python str.isspace() for one code point.
bool IsPySpace(char32_t cp);
bool IsPyAlpha(char32_t cp);
bool IsPyDigit(char32_t cp);
bool IsPyUpper(char32_t cp);
bool IsPyLower(char32_t cp);
char32_t ToUpperCp(char32_t cp);
char32_t ToLowerCp(char32_t cp);

std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
// Python str.strip / lstrip / rstrip. chars == nullptr strips whitespace.
std::string_view PyStrip(std::string_view s, const std::u32string* chars, bool left, bool right);
// Python str.splitlines(keepends=False).
std::vector<std::string> PySplitLines(std::string_view s);

}  // namespace r1d::tokenizer::jinja
