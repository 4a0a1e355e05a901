#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

// Deep enough for any real JSON schema, shallow enough that recursion over values stays far
// from the stack limit.
constexpr int kMaxValueDepth = 400;

const std::string& EmptyString() {
  static const std::string empty;
  return empty;
}

int DepthOf(const ValueList& items) {
  int d = 0;
  for (const Value& v : items) d = std::max(d, v.depth());
  return d + 1;
}

void CheckDepth(int depth) {
  if (depth > kMaxValueDepth) {
    ThrowLimit("value nesting deeper than " + std::to_string(kMaxValueDepth) + " levels");
  }
}

// Repr of namespaces can recurse through user-built cycles (ns.a = ns); bound it.
thread_local int repr_depth = 0;
struct ReprGuard {
  ReprGuard() {
    if (++repr_depth > kMaxValueDepth) {
      --repr_depth;
      ThrowLimit("maximum recursion depth exceeded while getting the repr of an object");
    }
  }
  ~ReprGuard() { --repr_depth; }
};

bool IsPrintable(char32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c >= 0x80 && c <= 0xA0) return false;
  if (c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
      (c >= 0x205F && c <= 0x2064) || c == 0x3000 || c == 0xFEFF) {
    return false;
  }
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  if (c >= 0xE000 && c <= 0xF8FF) return false;  // private use
  return true;
}

void AppendHex(std::string& out, const char* prefix, uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*x", digits, v);
  out += prefix;
  out += buf;
}

}  // namespace

// ---- construction -----------------------------------------------------------------------------

Value Value::Undefined(std::string message) {
  Value v;
  v.s_ = std::make_shared<const std::string>(std::move(message));
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = ValueKind::kNone;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind_ = ValueKind::kBool;
  v.b_ = b;
  return v;
}
Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = ValueKind::kInt;
  v.i_ = i;
  return v;
}
Value Value::Float(double f) {
  Value v;
  v.kind_ = ValueKind::kFloat;
  v.f_ = f;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.kind_ = ValueKind::kString;
  v.s_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::Markup(std::string s) {
  Value v = String(std::move(s));
  v.markup_ = true;
  return v;
}
Value Value::List(ValueList items) {
  Value v;
  v.kind_ = ValueKind::kList;
  int d = DepthOf(items);
  CheckDepth(d);
  v.depth_ = static_cast<uint16_t>(d);
  v.list_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}
Value Value::Tuple(ValueList items) {
  Value v = List(std::move(items));
  v.kind_ = ValueKind::kTuple;
  return v;
}
Value Value::MakeDict(Dict dict) {
  Value v;
  v.kind_ = ValueKind::kDict;
  int d = 0;
  for (const auto& [k, val] : dict.entries()) d = std::max({d, k.depth(), val.depth()});
  CheckDepth(d + 1);
  v.depth_ = static_cast<uint16_t>(d + 1);
  v.dict_ = std::make_shared<const Dict>(std::move(dict));
  return v;
}
Value Value::MakeObject(std::shared_ptr<Object> obj) {
  Value v;
  v.kind_ = ValueKind::kObject;
  v.obj_ = std::move(obj);
  return v;
}

const std::string& Value::Str() const { return s_ ? *s_ : EmptyString(); }
const ValueList& Value::Items() const {
  static const ValueList empty;
  return list_ ? *list_ : empty;
}
const Dict& Value::GetDict() const {
  static const Dict empty;
  return dict_ ? *dict_ : empty;
}
const std::string& Value::UndefinedMessage() const { return s_ ? *s_ : EmptyString(); }

// ---- Dict -------------------------------------------------------------------------------------

const Value* Dict::FindStr(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k.IsString() && k.Str() == key) return &v;
  }
  return nullptr;
}

const Value* Dict::Find(const Value& key) const {
  if (key.IsString()) return FindStr(key.Str());
  for (const auto& [k, v] : entries_) {
    if (!k.IsString() && Equals(k, key)) return &v;
  }
  return nullptr;
}

void Dict::Set(Value key, Value value) {
  if (!IsHashable(key)) ThrowRuntime("unhashable type: '" + TypeName(key) + "'");
  for (auto& [k, v] : entries_) {
    if (k.IsString() == key.IsString() && Equals(k, key)) {
      v = std::move(value);  // Python keeps the first key and its position
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

// ---- Object defaults --------------------------------------------------------------------------

std::optional<Value> Object::GetAttr(std::string_view) const { return std::nullopt; }
bool Object::SetAttr(std::string_view, Value) { return false; }
Value Object::Call(Evaluator&, CallArgs&) {
  ThrowRuntime("'" + TypeName() + "' object is not callable");
}
bool Object::Iterate(ValueList*) { return false; }

// ---- Python semantics -------------------------------------------------------------------------

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return "Undefined";
    case ValueKind::kNone:
      return "NoneType";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kFloat:
      return "float";
    case ValueKind::kString:
      return v.IsMarkup() ? "Markup" : "str";
    case ValueKind::kList:
      return "list";
    case ValueKind::kTuple:
      return "tuple";
    case ValueKind::kDict:
      return "dict";
    case ValueKind::kObject:
      return v.Obj()->TypeName();
  }
  return "object";
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return false;
    case ValueKind::kBool:
      return v.AsBool();
    case ValueKind::kInt:
      return v.AsInt() != 0;
    case ValueKind::kFloat:
      return v.AsFloat() != 0.0;
    case ValueKind::kString:
      return !v.Str().empty();
    case ValueKind::kList:
    case ValueKind::kTuple:
      return !v.Items().empty();
    case ValueKind::kDict:
      return !v.GetDict().empty();
    case ValueKind::kObject: {
      std::optional<size_t> n = v.Obj()->Length();
      return !n.has_value() || *n > 0;
    }
  }
  return false;
}

std::string FloatRepr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  size_t i = 0;
  if (sci[0] == '-') {
    out.push_back('-');
    i = 1;
  }
  size_t e = sci.find('e');
  std::string digits;
  for (size_t k = i; k < e; ++k) {
    if (sci[k] != '.') digits.push_back(sci[k]);
  }
  int exp10 = std::stoi(sci.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int decpt = exp10 + 1;
  int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += ebuf;
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-decpt), '0');
    out += digits;
  } else if (decpt < n) {
    out += digits.substr(0, decpt);
    out += '.';
    out += digits.substr(decpt);
  } else {
    out += digits;
    out.append(static_cast<size_t>(decpt - n), '0');
    out += ".0";
  }
  return out;
}

std::string StrRepr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out;
  out.push_back(quote);
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    char32_t c = NextCodePoint(s, &pos);
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c >= 0xDC80 && c <= 0xDCFF && pos - start == 1) {
      AppendHex(out, "\\u", c, 4);  // an invalid byte, shown like Python's surrogateescape
    } else if (IsPrintable(c)) {
      out.append(s.substr(start, pos - start));
    } else if (c < 0x100) {
      AppendHex(out, "\\x", c, 2);
    } else if (c < 0x10000) {
      AppendHex(out, "\\u", c, 4);
    } else {
      AppendHex(out, "\\U", c, 8);
    }
  }
  out.push_back(quote);
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&#34;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

std::string SeqRepr(const Value& v) {
  ReprGuard guard;
  const ValueList& items = v.Items();
  std::string out = v.IsTuple() ? "(" : "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += Repr(items[i]);
  }
  if (v.IsTuple() && items.size() == 1) out += ",";
  out += v.IsTuple() ? ")" : "]";
  return out;
}

std::string DictRepr(const Value& v) {
  ReprGuard guard;
  std::string out = "{";
  bool first = true;
  for (const auto& [k, val] : v.GetDict().entries()) {
    if (!first) out += ", ";
    first = false;
    out += Repr(k);
    out += ": ";
    out += Repr(val);
  }
  out += "}";
  return out;
}

}  // namespace

std::string ToStr(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return "";
    case ValueKind::kNone:
      return "None";
    case ValueKind::kBool:
      return v.AsBool() ? "True" : "False";
    case ValueKind::kInt:
      return std::to_string(v.AsInt());
    case ValueKind::kFloat:
      return FloatRepr(v.AsFloat());
    case ValueKind::kString:
      return v.Str();
    case ValueKind::kList:
    case ValueKind::kTuple:
      return SeqRepr(v);
    case ValueKind::kDict:
      return DictRepr(v);
    case ValueKind::kObject: {
      ReprGuard guard;
      return v.Obj()->Repr();
    }
  }
  return "";
}

std::string Repr(const Value& v) {
  if (v.IsString()) {
    if (v.IsMarkup()) return "Markup(" + StrRepr(v.Str()) + ")";
    return StrRepr(v.Str());
  }
  if (v.IsUndefined()) return "Undefined";
  return ToStr(v);
}

bool Equals(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsFloat() || b.IsFloat()) return a.AsFloat() == b.AsFloat();
    return a.AsInt() == b.AsInt();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return true;
    case ValueKind::kString:
      return a.Str() == b.Str();
    case ValueKind::kList:
    case ValueKind::kTuple: {
      const ValueList& x = a.Items();
      const ValueList& y = b.Items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equals(x[i], y[i])) return false;
      }
      return true;
    }
    case ValueKind::kDict: {
      const Dict& x = a.GetDict();
      const Dict& y = b.GetDict();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.Find(k);
        if (other == nullptr || !Equals(v, *other)) return false;
      }
      return true;
    }
    case ValueKind::kObject:
      return a.Obj() == b.Obj();
    default:
      return false;
  }
}

bool LessThan(const Value& a, const Value& b) {
  if (a.IsUndefined()) ThrowRuntime(a.UndefinedMessage());
  if (b.IsUndefined()) ThrowRuntime(b.UndefinedMessage());
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsFloat() || b.IsFloat()) return a.AsFloat() < b.AsFloat();
    return a.AsInt() < b.AsInt();
  }
  if (a.IsString() && b.IsString()) return a.Str() < b.Str();
  if ((a.IsList() && b.IsList()) || (a.IsTuple() && b.IsTuple())) {
    const ValueList& x = a.Items();
    const ValueList& y = b.Items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!Equals(x[i], y[i])) return LessThan(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  ThrowRuntime("'<' not supported between instances of '" + TypeName(a) + "' and '" + TypeName(b) +
               "'");
}

bool IsHashable(const Value& v) {
  if (v.IsList() || v.IsDict()) return false;
  if (v.IsTuple()) {
    for (const Value& item : v.Items()) {
      if (!IsHashable(item)) return false;
    }
  }
  return true;
}

}  // namespace r1d::tokenizer::jinja
