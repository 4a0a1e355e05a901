#pragma once
// Jinja lexer: splits a template into data and tag tokens with the whitespace control of
// Jinja2 (`{%-`, `-%}`, `{%+`, `+%}`, trim_blocks, lstrip_blocks, raw blocks, comments) and
// the expression tokens inside tags. Throws JinjaError(kSyntax) with the line on bad input.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1d::tokenizer::jinja {

enum class TokenType {
  kData,
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,
  kInteger,
  kFloat,
  kOperator,
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string value;  // data text, name, unescaped string, or operator text
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

struct LexerOptions {
  bool trim_blocks = true;  // Hugging Face renders chat templates with both on
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;  // Jinja2's default: one trailing newline is dropped
};

std::vector<Token> Tokenize(std::string_view source, const LexerOptions& options);

}  // namespace r1d::tokenizer::jinja
