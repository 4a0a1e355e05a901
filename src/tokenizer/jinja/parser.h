#pragma once
// Recursive-descent parser for the Jinja2 grammar (same precedence and statement forms as
// Jinja2's parser). Throws JinjaError(kSyntax) naming the line.
#include <string_view>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace r1d::tokenizer::jinja {

struct ParseOptions {
  LexerOptions lexer;
  int max_nesting = 200;  // nested expressions + blocks; keeps recursion far from stack limits
};

Body ParseTemplate(std::string_view source, const ParseOptions& options);

}  // namespace r1d::tokenizer::jinja
