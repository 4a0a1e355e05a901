#pragma once
// Shared between the filter files; not part of the interpreter's interface.
#include <map>
#include <string>
#include <string_view>

#include "tokenizer/jinja/registry.h"

namespace r1d::tokenizer::jinja {

using FilterTable = std::map<std::string, FilterFn, std::less<>>;
void RegisterTextFilters(FilterTable& t);
void RegisterSequenceFilters(FilterTable& t);

// Python str.replace(old, new, count); count < 0 replaces all.
std::string PyReplace(Evaluator& ev, const std::string& s, const std::string& old,
                      const std::string& repl, int64_t count);

}  // namespace r1d::tokenizer::jinja
