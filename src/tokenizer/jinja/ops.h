#pragma once
// Python operators on Values: arithmetic, comparison, membership, slicing, %-formatting.
#include <optional>
#include <string>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

Value BinaryOp(Evaluator& ev, BinOp op, const Value& a, const Value& b);
Value UnaryOp(bool negate, const Value& v);
bool CompareOp(Evaluator& ev, CmpOp op, const Value& a, const Value& b);
bool Contains(Evaluator& ev, const Value& container, const Value& item);
// obj[start:stop:step] with Python semantics (Jinja compiles slices to plain subscripts, so a
// value that cannot be sliced is a TypeError, not an Undefined).
Value SliceValue(Evaluator& ev, const Value& obj, const Value& start, const Value& stop,
                 const Value& step);
// Python "fmt % args" (printf-style); args is a tuple, a dict (for %(name)s) or one value.
std::string PercentFormat(const std::string& fmt, const Value& args, bool escape_args);
// Python's object_type_repr for undefined messages: "dict object", "None", ...
std::string ObjectTypeRepr(const Value& v);
// Python int(x) for a string, with base (0: auto from prefix); nullopt when invalid.
std::optional<int64_t> ParsePyInt(std::string_view s, int base);
// Python float(x) for a string; nullopt when invalid.
std::optional<double> ParsePyFloat(std::string_view s);

}  // namespace r1d::tokenizer::jinja
