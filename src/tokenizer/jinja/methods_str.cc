// Python str methods available to templates (`s.split()`, `s.startswith()`, `s.format()`...).
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/filters_internal.h"
#include "tokenizer/jinja/methods_internal.h"
#include "tokenizer/jinja/objects.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

using Fn = Value (*)(Evaluator& ev, const Value& self, CallArgs& args);

const std::string& RequireStr(const Value& v, const char* method) {
  if (!v.IsString()) {
    ThrowRuntime(std::string(method) + "() argument must be str, not " + TypeName(v));
  }
  return v.Str();
}

int64_t IntArg(const Value& v, const char* method) {
  if (!v.IsIntLike()) {
    ThrowRuntime(std::string(method) + "(): '" + TypeName(v) +
                 "' object cannot be interpreted as an integer");
  }
  return v.AsInt();
}

// Resolves Python's optional [start, end] code point bounds.
void Bounds(const CallArgs& args, size_t first, size_t len, size_t* lo, size_t* hi,
            const char* method) {
  auto norm = [&](const Value& v, size_t dflt) -> size_t {
    if (v.IsNone()) return dflt;
    int64_t i = IntArg(v, method);
    int64_t n = static_cast<int64_t>(len);
    if (i < 0) i = std::max<int64_t>(0, i + n);
    return static_cast<size_t>(std::min(i, n));
  };
  *lo = args.args.size() > first ? norm(args.args[first], 0) : 0;
  *hi = args.args.size() > first + 1 ? norm(args.args[first + 1], len) : len;
}

Value Strip(Evaluator& ev, const Value& self, CallArgs& args, bool left, bool right,
            const char* name) {
  ArgBinder b(name, args, {"chars"});
  Value chars = b.GetOr(0, Value::None());
  std::u32string set;
  const std::u32string* set_ptr = nullptr;
  if (!chars.IsNone()) {
    set = DecodeUtf8(RequireStr(chars, name));
    set_ptr = &set;
  }
  return ev.NewString(std::string(PyStrip(self.Str(), set_ptr, left, right)), self.IsMarkup());
}

Value MStrip(Evaluator& ev, const Value& s, CallArgs& a) {
  return Strip(ev, s, a, true, true, "strip");
}
Value MLStrip(Evaluator& ev, const Value& s, CallArgs& a) {
  return Strip(ev, s, a, true, false, "lstrip");
}
Value MRStrip(Evaluator& ev, const Value& s, CallArgs& a) {
  return Strip(ev, s, a, false, true, "rstrip");
}

Value MUpper(Evaluator& ev, const Value& s, CallArgs& a) {
  ArgBinder b("upper", a, {});
  return ev.NewString(PyUpper(s.Str()), s.IsMarkup());
}
Value MLower(Evaluator& ev, const Value& s, CallArgs& a) {
  ArgBinder b("lower", a, {});
  return ev.NewString(PyLower(s.Str()), s.IsMarkup());
}

Value MTitle(Evaluator& ev, const Value& s, CallArgs& a) {
  ArgBinder b("title", a, {});
  std::string out;
  bool prev_cased = false;
  for (char32_t c : DecodeUtf8(s.Str())) {
    bool cased = IsPyUpper(c) || IsPyLower(c);
    AppendUtf8(out, cased ? (prev_cased ? ToLowerCp(c) : ToUpperCp(c)) : c);
    prev_cased = cased;
  }
  return ev.NewString(std::move(out), s.IsMarkup());
}

Value MCapitalize(Evaluator& ev, const Value& s, CallArgs& a) {
  ArgBinder b("capitalize", a, {});
  std::u32string cps = DecodeUtf8(s.Str());
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i)
    AppendUtf8(out, i == 0 ? ToUpperCp(cps[i]) : ToLowerCp(cps[i]));
  return ev.NewString(std::move(out), s.IsMarkup());
}

Value MSwapcase(Evaluator& ev, const Value& s, CallArgs& a) {
  ArgBinder b("swapcase", a, {});
  std::string out;
  for (char32_t c : DecodeUtf8(s.Str())) {
    AppendUtf8(out, IsPyUpper(c) ? ToLowerCp(c) : (IsPyLower(c) ? ToUpperCp(c) : c));
  }
  return ev.NewString(std::move(out), s.IsMarkup());
}

ValueList SplitWhitespace(const std::u32string& s, int64_t maxsplit, bool from_right) {
  ValueList parts;
  if (!from_right) {
    size_t i = 0, n = s.size();
    while (true) {
      while (i < n && IsPySpace(s[i])) ++i;
      if (i >= n) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        parts.push_back(Value::String(EncodeUtf8(s.substr(i))));
        break;
      }
      size_t j = i;
      while (j < n && !IsPySpace(s[j])) ++j;
      parts.push_back(Value::String(EncodeUtf8(s.substr(i, j - i))));
      i = j;
    }
    return parts;
  }
  size_t i = s.size();
  while (true) {
    while (i > 0 && IsPySpace(s[i - 1])) --i;
    if (i == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      parts.push_back(Value::String(EncodeUtf8(s.substr(0, i))));
      break;
    }
    size_t j = i;
    while (j > 0 && !IsPySpace(s[j - 1])) --j;
    parts.push_back(Value::String(EncodeUtf8(s.substr(j, i - j))));
    i = j;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

Value Split(Evaluator& ev, const Value& self, CallArgs& args, bool from_right) {
  const char* name = from_right ? "rsplit" : "split";
  ArgBinder b(name, args, {"sep", "maxsplit"});
  Value sep = b.GetOr(0, Value::None());
  int64_t maxsplit = IntArg(b.GetOr(1, Value::Int(-1)), name);
  if (sep.IsNone()) {
    return ev.NewList(SplitWhitespace(DecodeUtf8(self.Str()), maxsplit, from_right));
  }
  const std::string& d = RequireStr(sep, name);
  if (d.empty()) ThrowRuntime("empty separator");
  const std::string& s = self.Str();
  ValueList parts;
  if (!from_right) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t hit = s.find(d, pos);
      if (hit == std::string::npos) break;
      parts.push_back(Value::String(s.substr(pos, hit - pos)));
      pos = hit + d.size();
    }
    parts.push_back(Value::String(s.substr(pos)));
  } else {
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      if (end < d.size()) break;
      size_t hit = s.rfind(d, end - d.size());
      if (hit == std::string::npos) break;
      parts.push_back(Value::String(s.substr(hit + d.size(), end - hit - d.size())));
      end = hit;
    }
    parts.push_back(Value::String(s.substr(0, end)));
    std::reverse(parts.begin(), parts.end());
  }
  return ev.NewList(std::move(parts));
}

Value MSplit(Evaluator& ev, const Value& s, CallArgs& a) { return Split(ev, s, a, false); }
Value MRSplit(Evaluator& ev, const Value& s, CallArgs& a) { return Split(ev, s, a, true); }

Value MSplitLines(Evaluator& ev, const Value& s, CallArgs& a) {
  ArgBinder b("splitlines", a, {"keepends"});
  if (Truthy(b.GetOr(0, Value::Bool(false))))
    ThrowRuntime("splitlines(keepends=True) is not supported");
  ValueList out;
  for (std::string& line : PySplitLines(s.Str())) out.push_back(Value::String(std::move(line)));
  return ev.NewList(std::move(out));
}

Value PrefixSuffix(Evaluator&, const Value& self, CallArgs& args, bool suffix) {
  const char* name = suffix ? "endswith" : "startswith";
  if (args.args.empty()) ThrowRuntime(std::string(name) + "() takes at least 1 argument (0 given)");
  std::u32string cps = DecodeUtf8(self.Str());
  size_t lo, hi;
  Bounds(args, 1, cps.size(), &lo, &hi, name);
  std::u32string sub = lo <= hi ? cps.substr(lo, hi - lo) : std::u32string();
  auto test = [&](const Value& p) {
    if (!p.IsString()) {
      ThrowRuntime(std::string(name) + " first arg must be str or a tuple of str, not " +
                   TypeName(p));
    }
    std::u32string pc = DecodeUtf8(p.Str());
    if (lo > hi || pc.size() > sub.size()) return false;
    return suffix ? sub.compare(sub.size() - pc.size(), pc.size(), pc) == 0
                  : sub.compare(0, pc.size(), pc) == 0;
  };
  const Value& prefix = args.args[0];
  if (prefix.IsTuple()) {
    for (const Value& p : prefix.Items()) {
      if (test(p)) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  return Value::Bool(test(prefix));
}

Value MStartsWith(Evaluator& ev, const Value& s, CallArgs& a) {
  return PrefixSuffix(ev, s, a, false);
}
Value MEndsWith(Evaluator& ev, const Value& s, CallArgs& a) { return PrefixSuffix(ev, s, a, true); }

int64_t FindImpl(const Value& self, CallArgs& args, bool reverse, const char* name) {
  if (args.args.empty()) ThrowRuntime(std::string(name) + "() takes at least 1 argument (0 given)");
  std::u32string cps = DecodeUtf8(self.Str());
  std::u32string sub = DecodeUtf8(RequireStr(args.args[0], name));
  size_t lo, hi;
  Bounds(args, 1, cps.size(), &lo, &hi, name);
  if (lo > hi || hi - lo < sub.size()) return -1;
  std::u32string_view window(cps.data() + lo, hi - lo);
  size_t hit = reverse ? window.rfind(sub) : window.find(sub);
  return hit == std::u32string_view::npos ? -1 : static_cast<int64_t>(hit + lo);
}

Value MFind(Evaluator&, const Value& s, CallArgs& a) {
  return Value::Int(FindImpl(s, a, false, "find"));
}
Value MRFind(Evaluator&, const Value& s, CallArgs& a) {
  return Value::Int(FindImpl(s, a, true, "rfind"));
}
Value MIndex(Evaluator&, const Value& s, CallArgs& a) {
  int64_t i = FindImpl(s, a, false, "index");
  if (i < 0) ThrowRuntime("substring not found");
  return Value::Int(i);
}
Value MRIndex(Evaluator&, const Value& s, CallArgs& a) {
  int64_t i = FindImpl(s, a, true, "rindex");
  if (i < 0) ThrowRuntime("substring not found");
  return Value::Int(i);
}

Value MCount(Evaluator&, const Value& self, CallArgs& args) {
  if (args.args.empty()) ThrowRuntime("count() takes at least 1 argument (0 given)");
  std::u32string cps = DecodeUtf8(self.Str());
  std::u32string sub = DecodeUtf8(RequireStr(args.args[0], "count"));
  size_t lo, hi;
  Bounds(args, 1, cps.size(), &lo, &hi, "count");
  if (lo > hi) return Value::Int(0);
  if (sub.empty()) return Value::Int(static_cast<int64_t>(hi - lo + 1));
  int64_t n = 0;
  std::u32string_view window(cps.data() + lo, hi - lo);
  for (size_t pos = window.find(sub); pos != std::u32string_view::npos;
       pos = window.find(sub, pos + sub.size())) {
    ++n;
  }
  return Value::Int(n);
}

Value MReplace(Evaluator& ev, const Value& self, CallArgs& args) {
  ArgBinder b("replace", args, {"old", "new", "count"});
  if (b.Get(0) == nullptr || b.Get(1) == nullptr) {
    ThrowRuntime("replace expected at least 2 arguments");
  }
  const std::string& old = RequireStr(*b.Get(0), "replace");
  const std::string& repl = RequireStr(*b.Get(1), "replace");
  int64_t count = IntArg(b.GetOr(2, Value::Int(-1)), "replace");
  if (self.IsMarkup()) {
    // Markup.replace escapes plain-string arguments.
    std::string o = b.Get(0)->IsMarkup() ? old : HtmlEscape(old);
    std::string r = b.Get(1)->IsMarkup() ? repl : HtmlEscape(repl);
    return ev.NewString(PyReplace(ev, self.Str(), o, r, count), true);
  }
  return ev.NewString(PyReplace(ev, self.Str(), old, repl, count));
}

Value MJoin(Evaluator& ev, const Value& self, CallArgs& args) {
  if (args.args.size() != 1) ThrowRuntime("join() takes exactly one argument");
  ValueList items = ev.Iterate(args.args[0]);
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].IsString()) {
      ThrowRuntime("sequence item " + std::to_string(i) + ": expected str instance, " +
                   TypeName(items[i]) + " found");
    }
    if (i > 0) out += self.Str();
    out += items[i].Str();
    if (out.size() > ev.options().limits.max_string_bytes) break;
  }
  return ev.NewString(std::move(out));
}

Value Justify(Evaluator& ev, const Value& self, CallArgs& args, char how, const char* name) {
  ArgBinder b(name, args, {"width", "fillchar"});
  if (b.Get(0) == nullptr) ThrowRuntime(std::string(name) + "() takes at least 1 argument");
  int64_t width = std::min<int64_t>(IntArg(*b.Get(0), name),
                                    static_cast<int64_t>(ev.options().limits.max_string_bytes));
  std::string fill = ToStr(b.GetOr(1, Value::String(" ")));
  if (Utf8Length(fill) != 1) ThrowRuntime("The fill character must be exactly one character long");
  int64_t len = static_cast<int64_t>(Utf8Length(self.Str()));
  if (width <= len) return self;
  int64_t pad = width - len;
  int64_t left = how == '<' ? 0 : (how == '>' ? pad : pad / 2 + (pad & width & 1));
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += self.Str();
  for (int64_t i = 0; i < pad - left; ++i) out += fill;
  return ev.NewString(std::move(out));
}

Value MCenter(Evaluator& ev, const Value& s, CallArgs& a) {
  return Justify(ev, s, a, '^', "center");
}
Value MLJust(Evaluator& ev, const Value& s, CallArgs& a) { return Justify(ev, s, a, '<', "ljust"); }
Value MRJust(Evaluator& ev, const Value& s, CallArgs& a) { return Justify(ev, s, a, '>', "rjust"); }

Value MZFill(Evaluator& ev, const Value& self, CallArgs& args) {
  ArgBinder b("zfill", args, {"width"});
  if (b.Get(0) == nullptr) ThrowRuntime("zfill() takes exactly one argument");
  int64_t width = std::min<int64_t>(IntArg(*b.Get(0), "zfill"),
                                    static_cast<int64_t>(ev.options().limits.max_string_bytes));
  const std::string& s = self.Str();
  int64_t len = static_cast<int64_t>(Utf8Length(s));
  if (width <= len) return self;
  std::string zeros(static_cast<size_t>(width - len), '0');
  if (!s.empty() && (s[0] == '+' || s[0] == '-'))
    return ev.NewString(s.substr(0, 1) + zeros + s.substr(1));
  return ev.NewString(zeros + s);
}

Value Partition(Evaluator& ev, const Value& self, CallArgs& args, bool from_right) {
  if (args.args.size() != 1) ThrowRuntime("partition() takes exactly one argument");
  const std::string& sep = RequireStr(args.args[0], "partition");
  if (sep.empty()) ThrowRuntime("empty separator");
  const std::string& s = self.Str();
  size_t hit = from_right ? s.rfind(sep) : s.find(sep);
  if (hit == std::string::npos) {
    if (from_right) return ev.NewList({Value::String(""), Value::String(""), self}, true);
    return ev.NewList({self, Value::String(""), Value::String("")}, true);
  }
  return ev.NewList({Value::String(s.substr(0, hit)), Value::String(sep),
                     Value::String(s.substr(hit + sep.size()))},
                    true);
}

Value MPartition(Evaluator& ev, const Value& s, CallArgs& a) { return Partition(ev, s, a, false); }
Value MRPartition(Evaluator& ev, const Value& s, CallArgs& a) { return Partition(ev, s, a, true); }

Value MRemovePrefix(Evaluator& ev, const Value& self, CallArgs& args) {
  if (args.args.size() != 1) ThrowRuntime("removeprefix() takes exactly one argument");
  const std::string& p = RequireStr(args.args[0], "removeprefix");
  const std::string& s = self.Str();
  if (s.compare(0, p.size(), p) == 0) return ev.NewString(s.substr(p.size()));
  return self;
}

Value MRemoveSuffix(Evaluator& ev, const Value& self, CallArgs& args) {
  if (args.args.size() != 1) ThrowRuntime("removesuffix() takes exactly one argument");
  const std::string& p = RequireStr(args.args[0], "removesuffix");
  const std::string& s = self.Str();
  if (!p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0) {
    return ev.NewString(s.substr(0, s.size() - p.size()));
  }
  return self;
}

template <bool (*Pred)(char32_t)>
Value CharClass(Evaluator&, const Value& self, CallArgs& args) {
  if (!args.args.empty()) ThrowRuntime("method takes no arguments");
  std::u32string cps = DecodeUtf8(self.Str());
  if (cps.empty()) return Value::Bool(false);
  for (char32_t c : cps) {
    if (!Pred(c)) return Value::Bool(false);
  }
  return Value::Bool(true);
}

bool IsAlnumCp(char32_t c) { return IsPyAlpha(c) || IsPyDigit(c); }

Value CasedTest(const Value& self, bool want_upper) {
  bool cased = false;
  for (char32_t c : DecodeUtf8(self.Str())) {
    if (want_upper ? IsPyLower(c) : IsPyUpper(c)) return Value::Bool(false);
    if (want_upper ? IsPyUpper(c) : IsPyLower(c)) cased = true;
  }
  return Value::Bool(cased);
}
Value MIsUpper(Evaluator&, const Value& s, CallArgs&) { return CasedTest(s, true); }
Value MIsLower(Evaluator&, const Value& s, CallArgs&) { return CasedTest(s, false); }

Value MFormat(Evaluator& ev, const Value& self, CallArgs& args) {
  return ev.NewString(PyStrFormat(ev, self.Str(), args), self.IsMarkup());
}

struct MethodEntry {
  const char* name;
  Fn fn;
};

const MethodEntry kMethods[] = {
    {"strip", MStrip},
    {"lstrip", MLStrip},
    {"rstrip", MRStrip},
    {"upper", MUpper},
    {"lower", MLower},
    {"casefold", MLower},
    {"title", MTitle},
    {"capitalize", MCapitalize},
    {"swapcase", MSwapcase},
    {"split", MSplit},
    {"rsplit", MRSplit},
    {"splitlines", MSplitLines},
    {"startswith", MStartsWith},
    {"endswith", MEndsWith},
    {"find", MFind},
    {"rfind", MRFind},
    {"index", MIndex},
    {"rindex", MRIndex},
    {"count", MCount},
    {"replace", MReplace},
    {"join", MJoin},
    {"center", MCenter},
    {"ljust", MLJust},
    {"rjust", MRJust},
    {"zfill", MZFill},
    {"partition", MPartition},
    {"rpartition", MRPartition},
    {"removeprefix", MRemovePrefix},
    {"removesuffix", MRemoveSuffix},
    {"isdigit", CharClass<IsPyDigit>},
    {"isdecimal", CharClass<IsPyDigit>},
    {"isnumeric", CharClass<IsPyDigit>},
    {"isalpha", CharClass<IsPyAlpha>},
    {"isalnum", CharClass<IsAlnumCp>},
    {"isspace", CharClass<IsPySpace>},
    {"isupper", MIsUpper},
    {"islower", MIsLower},
    {"format", MFormat},
};

}  // namespace

std::optional<Value> GetStrMethod(const Value& self, std::string_view name) {
  for (const MethodEntry& m : kMethods) {
    if (name == m.name) {
      Fn fn = m.fn;
      return MakeFunction(m.name,
                          [self, fn](Evaluator& ev, CallArgs& args) { return fn(ev, self, args); });
    }
  }
  return std::nullopt;
}

}  // namespace r1d::tokenizer::jinja
