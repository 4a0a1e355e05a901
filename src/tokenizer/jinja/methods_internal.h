#pragma once
// Shared by the method files; not part of the interpreter's interface.
#include <optional>
#include <string_view>

#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

// Python str methods; nullopt when str has no such method.
std::optional<Value> GetStrMethod(const Value& self, std::string_view name);
// Python's str.format with the format-spec mini-language.
std::string PyStrFormat(Evaluator& ev, const std::string& fmt, CallArgs& args);

}  // namespace r1d::tokenizer::jinja
