#include "tokenizer/jinja/ops.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

const char* OpSymbol(BinOp op) {
  switch (op) {
    case BinOp::kAdd:
      return "+";
    case BinOp::kSub:
      return "-";
    case BinOp::kMul:
      return "*";
    case BinOp::kDiv:
      return "/";
    case BinOp::kFloorDiv:
      return "//";
    case BinOp::kMod:
      return "%";
    case BinOp::kPow:
      return "** or pow()";
  }
  return "?";
}

[[noreturn]] void Unsupported(BinOp op, const Value& a, const Value& b) {
  ThrowRuntime(std::string("unsupported operand type(s) for ") + OpSymbol(op) + ": '" +
               TypeName(a) + "' and '" + TypeName(b) + "'");
}

[[noreturn]] void Overflow() {
  ThrowRuntime("integer overflow (r1d templates use 64-bit integers)");
}

int64_t CheckedMul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) Overflow();
  return r;
}

Value IntArith(BinOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case BinOp::kAdd:
      if (__builtin_add_overflow(a, b, &r)) Overflow();
      return Value::Int(r);
    case BinOp::kSub:
      if (__builtin_sub_overflow(a, b, &r)) Overflow();
      return Value::Int(r);
    case BinOp::kMul:
      return Value::Int(CheckedMul(a, b));
    case BinOp::kDiv:
      if (b == 0) ThrowRuntime("division by zero");
      return Value::Float(static_cast<double>(a) / static_cast<double>(b));
    case BinOp::kFloorDiv: {
      if (b == 0) ThrowRuntime("integer division or modulo by zero");
      if (a == INT64_MIN && b == -1) Overflow();
      int64_t q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return Value::Int(q);
    }
    case BinOp::kMod: {
      if (b == 0) ThrowRuntime("integer modulo by zero");
      if (b == -1) return Value::Int(0);
      int64_t m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) m += b;
      return Value::Int(m);
    }
    case BinOp::kPow: {
      if (b < 0) {
        if (a == 0) ThrowRuntime("0.0 cannot be raised to a negative power");
        return Value::Float(std::pow(static_cast<double>(a), static_cast<double>(b)));
      }
      int64_t result = 1, base = a;
      while (b > 0) {
        if (b & 1) result = CheckedMul(result, base);
        b >>= 1;
        if (b > 0) base = CheckedMul(base, base);
      }
      return Value::Int(result);
    }
  }
  return Value();
}

Value FloatArith(BinOp op, double a, double b) {
  switch (op) {
    case BinOp::kAdd:
      return Value::Float(a + b);
    case BinOp::kSub:
      return Value::Float(a - b);
    case BinOp::kMul:
      return Value::Float(a * b);
    case BinOp::kDiv:
      if (b == 0) ThrowRuntime("float division by zero");
      return Value::Float(a / b);
    case BinOp::kFloorDiv:
    case BinOp::kMod: {
      if (b == 0) ThrowRuntime(op == BinOp::kMod ? "float modulo" : "float floor division by zero");
      // CPython's float divmod.
      double mod = std::fmod(a, b);
      double div = (a - mod) / b;
      if (mod != 0) {
        if ((b < 0) != (mod < 0)) {
          mod += b;
          div -= 1.0;
        }
      } else {
        mod = std::copysign(0.0, b);
      }
      double floordiv;
      if (div != 0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
      } else {
        floordiv = std::copysign(0.0, a / b);
      }
      return Value::Float(op == BinOp::kMod ? mod : floordiv);
    }
    case BinOp::kPow: {
      if (a == 0 && b < 0) ThrowRuntime("0.0 cannot be raised to a negative power");
      if (a < 0 && b != std::floor(b)) ThrowRuntime("complex results are not supported");
      return Value::Float(std::pow(a, b));
    }
  }
  return Value();
}

std::string EscapeIfPlain(const Value& v) { return v.IsMarkup() ? v.Str() : HtmlEscape(v.Str()); }

Value Repeat(Evaluator& ev, const Value& seq, int64_t count) {
  if (count < 0) count = 0;
  if (seq.IsString()) {
    const std::string& s = seq.Str();
    if (!s.empty() &&
        static_cast<uint64_t>(count) > ev.options().limits.max_string_bytes / s.size()) {
      ThrowLimit("string longer than " + std::to_string(ev.options().limits.max_string_bytes) +
                 " bytes");
    }
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) out += s;
    return ev.NewString(std::move(out), seq.IsMarkup());
  }
  const ValueList& items = seq.Items();
  if (!items.empty() &&
      static_cast<uint64_t>(count) > ev.options().limits.max_list_items / items.size()) {
    ThrowLimit("list longer than " + std::to_string(ev.options().limits.max_list_items) + " items");
  }
  ValueList out;
  out.reserve(items.size() * static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out.insert(out.end(), items.begin(), items.end());
  return ev.NewList(std::move(out), seq.IsTuple());
}

bool IsSeq(const Value& v) { return v.IsString() || v.IsListOrTuple(); }

}  // namespace

Value BinaryOp(Evaluator& ev, BinOp op, const Value& a, const Value& b) {
  if (a.IsUndefined()) ThrowRuntime(a.UndefinedMessage());
  // str % x runs str's formatting first, which treats an Undefined like an (empty) mapping.
  if (op == BinOp::kMod && a.IsString() && b.IsUndefined()) {
    return ev.NewString(PercentFormat(a.Str(), b, a.IsMarkup()), a.IsMarkup());
  }
  if (b.IsUndefined()) ThrowRuntime(b.UndefinedMessage());
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsFloat() || b.IsFloat()) return FloatArith(op, a.AsFloat(), b.AsFloat());
    return IntArith(op, a.AsInt(), b.AsInt());
  }
  switch (op) {
    case BinOp::kAdd:
      if (a.IsString() && b.IsString()) {
        if (a.IsMarkup() || b.IsMarkup()) {
          return ev.NewString(EscapeIfPlain(a) + EscapeIfPlain(b), true);
        }
        std::string s;
        s.reserve(a.Str().size() + b.Str().size());
        s += a.Str();
        s += b.Str();
        return ev.NewString(std::move(s));
      }
      if (a.IsString() && !a.IsMarkup()) {
        ThrowRuntime("can only concatenate str (not \"" + TypeName(b) + "\") to str");
      }
      if ((a.IsList() && b.IsList()) || (a.IsTuple() && b.IsTuple())) {
        ValueList items = a.Items();
        items.insert(items.end(), b.Items().begin(), b.Items().end());
        return ev.NewList(std::move(items), a.IsTuple());
      }
      if (a.IsList() || a.IsTuple()) {
        ThrowRuntime("can only concatenate " + TypeName(a) + " (not \"" + TypeName(b) + "\") to " +
                     TypeName(a));
      }
      Unsupported(op, a, b);
    case BinOp::kMul:
      if (IsSeq(a) && b.IsIntLike()) return Repeat(ev, a, b.AsInt());
      if (a.IsIntLike() && IsSeq(b)) return Repeat(ev, b, a.AsInt());
      if (IsSeq(a) || IsSeq(b)) {
        const Value& other = IsSeq(a) ? b : a;
        ThrowRuntime("can't multiply sequence by non-int of type '" + TypeName(other) + "'");
      }
      Unsupported(op, a, b);
    case BinOp::kMod:
      if (a.IsString()) {
        return ev.NewString(PercentFormat(a.Str(), b, a.IsMarkup()), a.IsMarkup());
      }
      Unsupported(op, a, b);
    default:
      Unsupported(op, a, b);
  }
}

Value UnaryOp(bool negate, const Value& v) {
  if (v.IsUndefined()) ThrowRuntime(v.UndefinedMessage());
  if (v.IsFloat()) return Value::Float(negate ? -v.AsFloat() : v.AsFloat());
  if (v.IsIntLike()) {
    if (!negate) return Value::Int(v.AsInt());
    if (v.AsInt() == INT64_MIN) Overflow();
    return Value::Int(-v.AsInt());
  }
  ThrowRuntime(std::string("bad operand type for unary ") + (negate ? "-" : "+") + ": '" +
               TypeName(v) + "'");
}

namespace {

bool OrderCompare(CmpOp op, const Value& a, const Value& b) {
  if (a.IsUndefined()) ThrowRuntime(a.UndefinedMessage());
  if (b.IsUndefined()) ThrowRuntime(b.UndefinedMessage());
  auto apply = [op](auto x, auto y) {
    switch (op) {
      case CmpOp::kLt:
        return x < y;
      case CmpOp::kLe:
        return x <= y;
      case CmpOp::kGt:
        return x > y;
      default:
        return x >= y;
    }
  };
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsFloat() || b.IsFloat()) return apply(a.AsFloat(), b.AsFloat());
    return apply(a.AsInt(), b.AsInt());
  }
  if (a.IsString() && b.IsString()) return apply(a.Str(), b.Str());
  if ((a.IsList() && b.IsList()) || (a.IsTuple() && b.IsTuple())) {
    const ValueList& x = a.Items();
    const ValueList& y = b.Items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!Equals(x[i], y[i])) return OrderCompare(op, x[i], y[i]);
    }
    return apply(x.size(), y.size());
  }
  const char* sym = op == CmpOp::kLt   ? "<"
                    : op == CmpOp::kLe ? "<="
                    : op == CmpOp::kGt ? ">"
                                       : ">=";
  ThrowRuntime(std::string("'") + sym + "' not supported between instances of '" + TypeName(a) +
               "' and '" + TypeName(b) + "'");
}

}  // namespace

bool CompareOp(Evaluator& ev, CmpOp op, const Value& a, const Value& b) {
  switch (op) {
    case CmpOp::kEq:
      return Equals(a, b);
    case CmpOp::kNe:
      return !Equals(a, b);
    case CmpOp::kIn:
      return Contains(ev, b, a);
    case CmpOp::kNotIn:
      return !Contains(ev, b, a);
    default:
      return OrderCompare(op, a, b);
  }
}

bool Contains(Evaluator& ev, const Value& container, const Value& item) {
  switch (container.kind()) {
    case ValueKind::kUndefined:
      return false;
    case ValueKind::kString:
      if (!item.IsString()) {
        ThrowRuntime("'in <string>' requires string as left operand, not " + TypeName(item));
      }
      return container.Str().find(item.Str()) != std::string::npos;
    case ValueKind::kList:
    case ValueKind::kTuple:
      for (const Value& v : container.Items()) {
        if (Equals(v, item)) return true;
      }
      return false;
    case ValueKind::kDict:
      if (!IsHashable(item)) ThrowRuntime("unhashable type: '" + TypeName(item) + "'");
      return container.GetDict().Find(item) != nullptr;
    case ValueKind::kObject: {
      ValueList items;
      if (!container.Obj()->Iterate(&items)) break;
      for (const Value& v : items) {
        if (Equals(v, item)) return true;
      }
      return false;
    }
    default:
      break;
  }
  (void)ev;
  ThrowRuntime("argument of type '" + TypeName(container) + "' is not iterable");
}

Value SliceValue(Evaluator& ev, const Value& obj, const Value& start_v, const Value& stop_v,
                 const Value& step_v) {
  if (obj.IsDict()) ThrowRuntime("unhashable type: 'slice'");
  if (!obj.IsString() && !obj.IsListOrTuple()) {
    ThrowRuntime("'" + TypeName(obj) + "' object is not subscriptable");
  }
  auto index_ok = [](const Value& v) { return v.IsNone() || v.IsIntLike(); };
  if (!index_ok(start_v) || !index_ok(stop_v) || !index_ok(step_v)) {
    ThrowRuntime("slice indices must be integers or None or have an __index__ method");
  }
  int64_t step = step_v.IsNone() ? 1 : step_v.AsInt();
  if (step == 0) ThrowRuntime("slice step cannot be zero");
  std::u32string cps;
  int64_t len;
  if (obj.IsString()) {
    cps = DecodeUtf8(obj.Str());
    len = static_cast<int64_t>(cps.size());
  } else {
    len = static_cast<int64_t>(obj.Items().size());
  }
  int64_t lower = step > 0 ? 0 : -1;
  int64_t upper = step > 0 ? len : len - 1;
  auto adjust = [&](const Value& v, int64_t dflt) {
    if (v.IsNone()) return dflt;
    int64_t i = v.AsInt();
    if (i < 0) {
      i += len;
      if (i < lower) i = lower;
    } else if (i > upper) {
      i = upper;
    }
    return i;
  };
  int64_t start = adjust(start_v, step > 0 ? lower : upper);
  int64_t stop = adjust(stop_v, step > 0 ? upper : lower);
  if (obj.IsString()) {
    std::u32string out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.push_back(cps[static_cast<size_t>(i)]);
    }
    return ev.NewString(EncodeUtf8(out), obj.IsMarkup());
  }
  ValueList out;
  const ValueList& items = obj.Items();
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(items[static_cast<size_t>(i)]);
  }
  return ev.NewList(std::move(out), obj.IsTuple());
}

std::string ObjectTypeRepr(const Value& v) {
  if (v.IsNone()) return "None";
  if (v.IsUndefined()) return "jinja2.runtime.Undefined object";
  if (v.IsMarkup()) return "markupsafe.Markup object";
  return TypeName(v) + " object";
}

// ---- printf-style formatting ------------------------------------------------------------------

namespace {

std::string PadTo(std::string s, int width, bool left) {
  int len = static_cast<int>(Utf8Length(s));
  if (width <= len) return s;
  std::string pad(static_cast<size_t>(width - len), ' ');
  return left ? s + pad : pad + s;
}

std::string FormatNumber(char conv, const Value& arg, const std::string& flags, int width,
                         int precision) {
  std::string spec = "%" + flags;
  if (width >= 0) spec += std::to_string(width);
  if (precision >= 0) spec += "." + std::to_string(precision);
  char buf[512];
  if (conv == 'd' || conv == 'i' || conv == 'u') {
    if (!arg.IsNumber()) {
      ThrowRuntime(std::string("%") + conv + " format: a real number is required, not " +
                   TypeName(arg));
    }
    int64_t v = arg.IsFloat() ? static_cast<int64_t>(std::trunc(arg.AsFloat())) : arg.AsInt();
    spec += "lld";
    std::snprintf(buf, sizeof(buf), spec.c_str(), static_cast<long long>(v));
    return buf;
  }
  if (conv == 'x' || conv == 'X' || conv == 'o') {
    if (!arg.IsIntLike()) {
      ThrowRuntime(std::string("%") + conv + " format: an integer is required, not " +
                   TypeName(arg));
    }
    int64_t v = arg.AsInt();
    bool neg = v < 0;
    std::string body;
    {
      std::string inner = "%" + std::string(flags.find('#') != std::string::npos ? "#" : "");
      if (precision >= 0) inner += "." + std::to_string(precision);
      inner += "ll";
      inner += conv;
      std::snprintf(buf, sizeof(buf), inner.c_str(),
                    static_cast<unsigned long long>(neg ? -(v + 1) + 1ull : v));
      body = buf;
      if (conv == 'o' && flags.find('#') != std::string::npos) {
        body = "0o" + body.substr(body[0] == '0' && body.size() > 1 ? 1 : 0);
      }
    }
    std::string sign = neg ? "-"
                           : (flags.find('+') != std::string::npos
                                  ? "+"
                                  : (flags.find(' ') != std::string::npos ? " " : ""));
    std::string s = sign + body;
    if (width > static_cast<int>(s.size())) {
      if (flags.find('-') != std::string::npos) {
        s += std::string(static_cast<size_t>(width) - s.size(), ' ');
      } else if (flags.find('0') != std::string::npos) {
        s = sign + std::string(static_cast<size_t>(width) - s.size(), '0') + body;
      } else {
        s = std::string(static_cast<size_t>(width) - s.size(), ' ') + s;
      }
    }
    return s;
  }
  // e E f F g G
  if (!arg.IsNumber()) {
    ThrowRuntime("must be real number, not " + TypeName(arg));
  }
  double v = arg.AsFloat();
  if (std::isinf(v) || std::isnan(v)) {
    std::string s = std::isnan(v) ? "nan" : (v < 0 ? "-inf" : "inf");
    if (conv >= 'A' && conv <= 'Z') s = PyUpper(s);
    return PadTo(s, width, flags.find('-') != std::string::npos);
  }
  if (width > 300) width = 300;
  if (precision > 100) precision = 100;
  spec = "%" + flags;
  if (width >= 0) spec += std::to_string(width);
  if (precision >= 0) spec += "." + std::to_string(precision);
  spec += conv;
  std::snprintf(buf, sizeof(buf), spec.c_str(), v);
  return buf;
}

}  // namespace

std::string PercentFormat(const std::string& fmt, const Value& args, bool escape_args) {
  ValueList positional;
  const Dict* mapping = nullptr;
  bool single_mapping_like = false;
  if (args.IsTuple()) {
    positional = args.Items();
  } else {
    positional.push_back(args);
    if (args.IsDict()) mapping = &args.GetDict();
    single_mapping_like = args.IsDict() || args.IsList() || args.IsUndefined();
  }
  size_t next = 0;
  bool used_mapping = false;
  auto take = [&]() -> const Value& {
    if (next >= positional.size()) ThrowRuntime("not enough arguments for format string");
    return positional[next++];
  };
  auto as_text = [&](const Value& v, bool repr) {
    std::string s = repr ? Repr(v) : ToStr(v);
    if (escape_args && !(v.IsMarkup() && !repr)) s = HtmlEscape(s);
    return s;
  };
  std::string out;
  size_t i = 0;
  while (i < fmt.size()) {
    char c = fmt[i];
    if (c != '%') {
      out.push_back(c);
      ++i;
      continue;
    }
    ++i;
    if (i >= fmt.size()) ThrowRuntime("incomplete format");
    const Value* arg = nullptr;
    Value keyed;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos) ThrowRuntime("incomplete format key");
      if (mapping == nullptr) ThrowRuntime("format requires a mapping");
      std::string key = fmt.substr(i + 1, close - i - 1);
      const Value* v = mapping->FindStr(key);
      if (v == nullptr) ThrowRuntime("KeyError: " + StrRepr(key));
      keyed = *v;
      arg = &keyed;
      used_mapping = true;
      i = close + 1;
    }
    std::string flags;
    while (i < fmt.size() && std::string("-+ #0").find(fmt[i]) != std::string::npos) {
      if (flags.find(fmt[i]) == std::string::npos) flags.push_back(fmt[i]);
      ++i;
    }
    int width = -1, precision = -1;
    if (i < fmt.size() && fmt[i] == '*') {
      const Value& w = take();
      if (!w.IsIntLike()) ThrowRuntime("* wants int");
      width = static_cast<int>(std::min<int64_t>(w.AsInt(), 1 << 20));
      ++i;
    } else {
      while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
        width = std::max(width, 0) * 10 + (fmt[i] - '0');
        if (width > (1 << 20)) ThrowRuntime("width too big");
        ++i;
      }
    }
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      precision = 0;
      if (i < fmt.size() && fmt[i] == '*') {
        const Value& p = take();
        if (!p.IsIntLike()) ThrowRuntime("* wants int");
        precision = static_cast<int>(std::min<int64_t>(p.AsInt(), 1 << 20));
        ++i;
      } else {
        while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
          precision = precision * 10 + (fmt[i] - '0');
          if (precision > (1 << 20)) ThrowRuntime("precision too big");
          ++i;
        }
      }
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) ThrowRuntime("incomplete format");
    char conv = fmt[i++];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (arg == nullptr) arg = &take();
    bool left = flags.find('-') != std::string::npos;
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        std::string s = as_text(*arg, conv != 's');
        if (precision >= 0) {
          std::u32string cps = DecodeUtf8(s);
          if (cps.size() > static_cast<size_t>(precision)) {
            s = EncodeUtf8(cps.substr(0, static_cast<size_t>(precision)));
          }
        }
        out += PadTo(s, width, left);
        break;
      }
      case 'c': {
        std::string s;
        if (arg->IsIntLike() && arg->AsInt() >= 0 && arg->AsInt() <= 0x10FFFF) {
          AppendUtf8(s, static_cast<char32_t>(arg->AsInt()));
        } else if (arg->IsString() && Utf8Length(arg->Str()) == 1) {
          s = arg->Str();
        } else {
          ThrowRuntime("%c requires int or char");
        }
        out += PadTo(s, width, left);
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o':
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        out += FormatNumber(conv, *arg, flags, width, precision);
        break;
      default:
        ThrowRuntime(std::string("unsupported format character '") + conv + "'");
    }
  }
  if (!used_mapping && next < positional.size() && !(single_mapping_like && next == 0)) {
    ThrowRuntime("not all arguments converted during string formatting");
  }
  return out;
}

// ---- number parsing ---------------------------------------------------------------------------

std::optional<int64_t> ParsePyInt(std::string_view s, int base) {
  s = PyStrip(s, nullptr, true, true);
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  auto has_prefix = [&](char p) { return s.size() >= 2 && s[0] == '0' && (s[1] | 0x20) == p; };
  if (base == 0) {
    if (has_prefix('x')) {
      base = 16;
    } else if (has_prefix('o')) {
      base = 8;
    } else if (has_prefix('b')) {
      base = 2;
    } else {
      base = 10;
      // Python rejects "010" with base 0.
      if (s.size() > 1 && s[0] == '0' && s.find_first_not_of("0_") != std::string_view::npos) {
        return std::nullopt;
      }
    }
  }
  if ((base == 16 && has_prefix('x')) || (base == 8 && has_prefix('o')) ||
      (base == 2 && has_prefix('b'))) {
    s.remove_prefix(2);
    if (!s.empty() && s[0] == '_') s.remove_prefix(1);
  }
  if (base < 2 || base > 36 || s.empty()) return std::nullopt;
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 == s.size() || s[i + 1] == '_') return std::nullopt;
      continue;
    }
    digits.push_back(s[i]);
  }
  uint64_t v = 0;
  auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) return std::nullopt;
  if (v > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

std::optional<double> ParsePyFloat(std::string_view s) {
  s = PyStrip(s, nullptr, true, true);
  std::string t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      bool ok = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                std::isdigit(static_cast<unsigned char>(s[i + 1]));
      if (!ok) return std::nullopt;
      continue;
    }
    t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
  }
  bool neg = false;
  std::string body = t;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body = body.substr(1);
  }
  if (body == "inf" || body == "infinity") return neg ? -HUGE_VAL : HUGE_VAL;
  if (body == "nan") return std::nan("");
  if (body.empty() || body.find_first_not_of("0123456789.e+-") != std::string::npos) {
    return std::nullopt;
  }
  double v = 0;
  auto res = std::from_chars(t.data() + (t[0] == '+' ? 1 : 0), t.data() + t.size(), v);
  if (res.ec == std::errc::result_out_of_range) return neg ? -HUGE_VAL : HUGE_VAL;
  if (res.ec != std::errc() || res.ptr != t.data() + t.size()) return std::nullopt;
  return v;
}

}  // namespace r1d::tokenizer::jinja
