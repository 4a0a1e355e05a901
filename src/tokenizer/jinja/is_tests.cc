// Jinja tests (`x is defined`, `x is string`, ...), with Jinja2's semantics.
#include <map>
#include <string>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/registry.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

const Value& Arg(CallArgs& args, const char* test) {
  if (args.args.empty()) {
    if (!args.kwargs.empty()) return args.kwargs[0].second;
    ThrowRuntime(std::string("test '") + test + "' requires an argument");
  }
  return args.args[0];
}

// Tests without parameters reject arguments the way Python rejects extra positionals.
void NoArgs(const CallArgs& args, const char* test) {
  if (!args.args.empty() || !args.kwargs.empty()) {
    ThrowRuntime(std::string("test_") + test + "() takes 1 positional argument but " +
                 std::to_string(1 + args.args.size() + args.kwargs.size()) + " were given");
  }
}

bool Defined(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "defined");
  return !v.IsUndefined();
}
bool Undefined(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "undefined");
  return v.IsUndefined();
}
bool None(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "none");
  return v.IsNone();
}
bool Boolean(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "boolean");
  return v.IsBool();
}
bool True(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "true");
  return v.IsBool() && v.AsBool();
}
bool False(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "false");
  return v.IsBool() && !v.AsBool();
}
bool Integer(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "integer");
  return v.kind() == ValueKind::kInt;
}
bool Float(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "float");
  return v.IsFloat();
}
bool Number(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "number");
  return v.IsNumber();
}
bool String(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "string");
  return v.IsString();
}
bool Mapping(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "mapping");
  return v.IsDict();
}
bool Escaped(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "escaped");
  return v.IsMarkup();
}
bool Callable(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "callable");
  // Undefined defines __call__ (to raise), so Python's callable() says yes.
  return v.IsUndefined() || (v.IsObject() && v.Obj()->IsCallable());
}

bool Iterable(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "iterable");
  switch (v.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kString:
    case ValueKind::kList:
    case ValueKind::kTuple:
    case ValueKind::kDict:
      return true;
    case ValueKind::kObject: {
      // Iterators answer by type, without consuming themselves.
      std::string t = v.Obj()->TypeName();
      return t == "generator" || t.find("iterator") != std::string::npos || t == "reversed" ||
             t.rfind("dict_", 0) == 0;
    }
    default:
      return false;
  }
}

bool Sequence(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "sequence");
  return v.IsUndefined() || v.IsString() || v.IsListOrTuple() || v.IsDict();
}

// Jinja2 tests str(value), so numbers and lists answer too.
bool Lower(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "lower");
  bool cased = false;
  for (char32_t c : DecodeUtf8(ToStr(v))) {
    if (IsPyUpper(c)) return false;
    if (IsPyLower(c)) cased = true;
  }
  return cased;
}

bool Upper(Evaluator&, const Value& v, CallArgs& a) {
  NoArgs(a, "upper");
  bool cased = false;
  for (char32_t c : DecodeUtf8(ToStr(v))) {
    if (IsPyLower(c)) return false;
    if (IsPyUpper(c)) cased = true;
  }
  return cased;
}

bool Odd(Evaluator& ev, const Value& v, CallArgs& a) {
  NoArgs(a, "odd");
  return Truthy(BinaryOp(ev, BinOp::kMod, v, Value::Int(2)));
}
bool Even(Evaluator& ev, const Value& v, CallArgs& a) {
  NoArgs(a, "even");
  return !Truthy(BinaryOp(ev, BinOp::kMod, v, Value::Int(2)));
}
bool DivisibleBy(Evaluator& ev, const Value& v, CallArgs& args) {
  return !Truthy(BinaryOp(ev, BinOp::kMod, v, Arg(args, "divisibleby")));
}

bool Eq(Evaluator& ev, const Value& v, CallArgs& a) {
  return CompareOp(ev, CmpOp::kEq, v, Arg(a, "eq"));
}
bool Ne(Evaluator& ev, const Value& v, CallArgs& a) {
  return CompareOp(ev, CmpOp::kNe, v, Arg(a, "ne"));
}
bool Lt(Evaluator& ev, const Value& v, CallArgs& a) {
  return CompareOp(ev, CmpOp::kLt, v, Arg(a, "lt"));
}
bool Le(Evaluator& ev, const Value& v, CallArgs& a) {
  return CompareOp(ev, CmpOp::kLe, v, Arg(a, "le"));
}
bool Gt(Evaluator& ev, const Value& v, CallArgs& a) {
  return CompareOp(ev, CmpOp::kGt, v, Arg(a, "gt"));
}
bool Ge(Evaluator& ev, const Value& v, CallArgs& a) {
  return CompareOp(ev, CmpOp::kGe, v, Arg(a, "ge"));
}
bool In(Evaluator& ev, const Value& v, CallArgs& a) { return Contains(ev, Arg(a, "in"), v); }

bool SameAs(Evaluator&, const Value& v, CallArgs& a) {
  const Value& other = Arg(a, "sameas");
  if (v.IsObject() || other.IsObject())
    return v.IsObject() && other.IsObject() && v.Obj() == other.Obj();
  if (v.kind() != other.kind()) return false;
  return Equals(v, other);
}

bool FilterTest(Evaluator&, const Value& v, CallArgs&) {
  return v.IsString() && FindFilter(v.Str()) != nullptr;
}
bool TestTest(Evaluator&, const Value& v, CallArgs&) {
  return v.IsString() && FindTest(v.Str()) != nullptr;
}

using TestTable = std::map<std::string, TestFn, std::less<>>;

TestTable BuildTests() {
  TestTable t;
  t["defined"] = Defined;
  t["undefined"] = Undefined;
  t["none"] = None;
  t["boolean"] = Boolean;
  t["true"] = True;
  t["false"] = False;
  t["integer"] = Integer;
  t["float"] = Float;
  t["number"] = Number;
  t["string"] = String;
  t["mapping"] = Mapping;
  t["iterable"] = Iterable;
  t["sequence"] = Sequence;
  t["callable"] = Callable;
  t["escaped"] = Escaped;
  t["lower"] = Lower;
  t["upper"] = Upper;
  t["odd"] = Odd;
  t["even"] = Even;
  t["divisibleby"] = DivisibleBy;
  t["eq"] = Eq;
  t["equalto"] = Eq;
  t["=="] = Eq;
  t["ne"] = Ne;
  t["!="] = Ne;
  t["lt"] = Lt;
  t["lessthan"] = Lt;
  t["<"] = Lt;
  t["le"] = Le;
  t["<="] = Le;
  t["gt"] = Gt;
  t["greaterthan"] = Gt;
  t[">"] = Gt;
  t["ge"] = Ge;
  t[">="] = Ge;
  t["in"] = In;
  t["sameas"] = SameAs;
  t["filter"] = FilterTest;
  t["test"] = TestTest;
  return t;
}

}  // namespace

TestFn FindTest(std::string_view name) {
  static const TestTable table = BuildTests();
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace r1d::tokenizer::jinja
