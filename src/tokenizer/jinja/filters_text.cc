// String filters: case, whitespace, replace, indent, truncate, escape/safe, format, tojson.
#include <algorithm>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/filters_internal.h"
#include "tokenizer/jinja/json.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

// Jinja's soft_str: Markup stays Markup, anything else goes through str().
Value SoftStr(Evaluator& ev, const Value& v) {
  if (v.IsString()) return v;
  return ev.NewString(ToStr(v));
}

Value Upper(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("upper", args, {});
  Value s = SoftStr(ev, in);
  return ev.NewString(PyUpper(s.Str()), s.IsMarkup());
}

Value Lower(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("lower", args, {});
  Value s = SoftStr(ev, in);
  return ev.NewString(PyLower(s.Str()), s.IsMarkup());
}

Value Capitalize(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("capitalize", args, {});
  Value s = SoftStr(ev, in);
  std::u32string cps = DecodeUtf8(s.Str());
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      if (cps[i] == 0xDF) {
        out += "Ss";
        continue;
      }
      AppendUtf8(out, ToUpperCp(cps[i]));
    } else {
      AppendUtf8(out, ToLowerCp(cps[i]));
    }
  }
  return ev.NewString(std::move(out), s.IsMarkup());
}

bool IsTitleSeparator(char32_t c) {
  return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsPySpace(c);
}

Value Title(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("title", args, {});
  Value s = SoftStr(ev, in);
  std::u32string cps = DecodeUtf8(s.Str());
  std::string out;
  // Runs of separators and of other characters alternate; each run starts upper-cased.
  for (size_t i = 0; i < cps.size(); ++i) {
    bool run_start = i == 0 || IsTitleSeparator(cps[i]) != IsTitleSeparator(cps[i - 1]);
    AppendUtf8(out, run_start ? ToUpperCp(cps[i]) : ToLowerCp(cps[i]));
  }
  return ev.NewString(std::move(out));
}

Value Trim(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("trim", args, {"chars"});
  Value s = SoftStr(ev, in);
  const Value* chars = b.Get(0);
  std::u32string set;
  const std::u32string* set_ptr = nullptr;
  if (chars != nullptr && !chars->IsNone()) {
    if (!chars->IsString()) ThrowRuntime("strip arg must be None or str");
    set = DecodeUtf8(chars->Str());
    set_ptr = &set;
  }
  return ev.NewString(std::string(PyStrip(s.Str(), set_ptr, true, true)), s.IsMarkup());
}

}  // namespace

std::string PyReplace(Evaluator& ev, const std::string& s, const std::string& old,
                      const std::string& repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts the replacement before every code point and at the end.
    std::u32string cps = DecodeUtf8(s);
    int64_t done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      AppendUtf8(out, c);
      if (out.size() > ev.options().limits.max_string_bytes) break;
    }
    if (count < 0 || done < count) out += repl;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(old, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += repl;
    pos = hit + old.size();
    ++done;
    if (out.size() > ev.options().limits.max_string_bytes) break;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

namespace {

Value Replace(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("replace", args, {"old", "new", "count"});
  if (b.Get(0) == nullptr || b.Get(1) == nullptr) {
    ThrowRuntime("replace() missing required arguments 'old' and 'new'");
  }
  Value count = b.GetOr(2, Value::None());
  int64_t n = -1;
  if (!count.IsNone()) {
    if (!count.IsIntLike())
      ThrowRuntime("'" + TypeName(count) + "' object cannot be interpreted as an integer");
    n = count.AsInt();
  }
  return ev.NewString(PyReplace(ev, ToStr(in), ToStr(*b.Get(0)), ToStr(*b.Get(1)), n));
}

Value Center(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("center", args, {"width"});
  Value w = b.GetOr(0, Value::Int(80));
  if (!w.IsIntLike())
    ThrowRuntime("'" + TypeName(w) + "' object cannot be interpreted as an integer");
  std::string s = ToStr(in);
  int64_t len = static_cast<int64_t>(Utf8Length(s));
  int64_t width =
      std::min<int64_t>(w.AsInt(), static_cast<int64_t>(ev.options().limits.max_string_bytes));
  if (width <= len) return ev.NewString(std::move(s));
  int64_t pad = width - len;
  int64_t left = pad / 2 + (pad & width & 1);
  return ev.NewString(std::string(static_cast<size_t>(left), ' ') + s +
                      std::string(static_cast<size_t>(pad - left), ' '));
}

Value Indent(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("indent", args, {"width", "first", "blank"});
  Value width = b.GetOr(0, Value::Int(4));
  bool first = Truthy(b.GetOr(1, Value::Bool(false)));
  bool blank = Truthy(b.GetOr(2, Value::Bool(false)));
  std::string indention;
  if (width.IsString()) {
    indention = width.Str();
  } else if (width.IsIntLike()) {
    int64_t n = std::min<int64_t>(width.AsInt(), 1 << 20);
    if (n > 0) indention.assign(static_cast<size_t>(n), ' ');
  } else {
    ThrowRuntime("can't multiply sequence by non-int of type '" + TypeName(width) + "'");
  }
  if (!in.IsString()) {
    ThrowRuntime("unsupported operand type(s) for +=: '" + TypeName(in) + "' and 'str'");
  }
  // Jinja appends a newline before splitlines() so a trailing newline survives.
  std::vector<std::string> lines = PySplitLines(in.Str() + "\n");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) rv += "\n" + indention;
      rv += lines[i];
      if (rv.size() > ev.options().limits.max_string_bytes) ev.NewString(std::move(rv));
    }
  } else {
    rv = lines.empty() ? std::string() : lines[0];
    if (lines.size() > 1) {
      rv += "\n";
      for (size_t i = 1; i < lines.size(); ++i) {
        if (i > 1) rv += "\n";
        if (!lines[i].empty()) rv += indention;
        rv += lines[i];
        if (rv.size() > ev.options().limits.max_string_bytes) ev.NewString(std::move(rv));
      }
    }
  }
  if (first) rv = indention + rv;
  return ev.NewString(std::move(rv), in.IsMarkup());
}

Value Truncate(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("truncate", args, {"length", "killwords", "end", "leeway"});
  Value length_v = b.GetOr(0, Value::Int(255));
  bool killwords = Truthy(b.GetOr(1, Value::Bool(false)));
  std::string end = ToStr(b.GetOr(2, Value::String("...")));
  Value leeway_v = b.GetOr(3, Value::None());
  if (!length_v.IsIntLike()) ThrowRuntime("truncate length must be an integer");
  int64_t length = length_v.AsInt();
  int64_t leeway = leeway_v.IsNone() ? 5 : (leeway_v.IsIntLike() ? leeway_v.AsInt() : 5);
  int64_t end_len = static_cast<int64_t>(Utf8Length(end));
  if (length < end_len) {
    ThrowRuntime("expected length >= " + std::to_string(end_len) + ", got " +
                 std::to_string(length));
  }
  if (leeway < 0) ThrowRuntime("expected leeway >= 0, got " + std::to_string(leeway));
  if (!in.IsString()) {
    // Jinja applies len() and slicing to whatever it gets.
    int64_t n;
    if (in.IsUndefined()) {
      return in;
    } else if (in.IsListOrTuple()) {
      n = static_cast<int64_t>(in.Items().size());
    } else if (in.IsDict()) {
      n = static_cast<int64_t>(in.GetDict().size());
    } else {
      ThrowRuntime("object of type '" + TypeName(in) + "' has no len()");
    }
    if (n <= length + leeway) return in;
    if (in.IsDict()) ThrowRuntime("unhashable type: 'slice'");
    if (killwords) {
      ThrowRuntime("can only concatenate " + TypeName(in) + " (not \"str\") to " + TypeName(in));
    }
    ThrowRuntime("'" + TypeName(in) + "' object has no attribute 'rsplit'");
  }
  std::string s = in.Str();
  std::u32string cps = DecodeUtf8(s);
  if (static_cast<int64_t>(cps.size()) <= length + leeway) return ev.NewString(std::move(s));
  std::u32string head = cps.substr(0, static_cast<size_t>(length - end_len));
  if (!killwords) {
    size_t sp = head.rfind(U' ');
    if (sp != std::u32string::npos) head = head.substr(0, sp);
  }
  return ev.NewString(EncodeUtf8(head) + end);
}

Value Wordcount(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("wordcount", args, {});
  std::u32string cps = DecodeUtf8(SoftStr(ev, in).Str());
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : cps) {
    bool w = IsPyAlpha(c) || IsPyDigit(c) || c == '_';
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::Int(n);
}

std::string UnescapeEntities(const std::string& s) {
  static const std::pair<const char*, const char*> kNamed[] = {
      {"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},   {"&quot;", "\""},
      {"&#39;", "'"}, {"&#34;", "\""}, {"&apos;", "'"}, {"&nbsp;", "\xC2\xA0"}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool done = false;
    if (s[i] == '&') {
      for (const auto& [from, to] : kNamed) {
        size_t n = std::char_traits<char>::length(from);
        if (s.compare(i, n, from) == 0) {
          out += to;
          i += n;
          done = true;
          break;
        }
      }
    }
    if (!done) out.push_back(s[i++]);
  }
  return out;
}

Value Striptags(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("striptags", args, {});
  std::string s = ToStr(in);
  std::string stripped;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 4, "<!--") == 0) {
      size_t e = s.find("-->", i + 4);
      if (e != std::string::npos) {
        i = e + 3;
        continue;
      }
    }
    if (s[i] == '<') {
      size_t e = s.find('>', i + 1);
      if (e != std::string::npos) {
        i = e + 1;
        continue;
      }
    }
    stripped.push_back(s[i++]);
  }
  std::string text = UnescapeEntities(stripped);
  // " ".join(text.split())
  std::string out;
  size_t pos = 0;
  std::string word;
  while (pos < text.size()) {
    size_t start = pos;
    char32_t c = NextCodePoint(text, &pos);
    if (IsPySpace(c)) {
      if (!word.empty()) {
        if (!out.empty()) out += ' ';
        out += word;
        word.clear();
      }
    } else {
      word.append(text, start, pos - start);
    }
  }
  if (!word.empty()) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return ev.NewString(std::move(out));
}

Value Escape(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("escape", args, {});
  if (in.IsMarkup()) return in;
  return ev.NewString(HtmlEscape(ToStr(in)), true);
}

Value ForceEscape(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("forceescape", args, {});
  return ev.NewString(HtmlEscape(ToStr(in)), true);
}

Value Safe(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("safe", args, {});
  if (in.IsMarkup()) return in;
  return ev.NewString(ToStr(in), true);
}

Value String(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("string", args, {});
  return SoftStr(ev, in);
}

Value Format(Evaluator& ev, const Value& in, CallArgs& args) {
  if (!args.args.empty() && !args.kwargs.empty()) {
    ThrowRuntime("can't handle positional and keyword arguments at the same time");
  }
  Value s = SoftStr(ev, in);
  Value fmt_args;
  if (!args.kwargs.empty()) {
    Dict d;
    for (auto& [k, v] : args.kwargs) d.Set(Value::String(k), v);
    fmt_args = Value::MakeDict(std::move(d));
  } else {
    fmt_args = Value::Tuple(args.args);
  }
  return ev.NewString(PercentFormat(s.Str(), fmt_args, s.IsMarkup()), s.IsMarkup());
}

// Hugging Face's tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False) — note the positional order.
Value ToJsonFilter(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions o;
  o.ensure_ascii = Truthy(b.GetOr(0, Value::Bool(false)));
  Value indent = b.GetOr(1, Value::None());
  if (!indent.IsNone()) {
    if (indent.IsString()) {
      o.indent = indent.Str();
    } else if (indent.IsIntLike()) {
      int64_t n = std::min<int64_t>(indent.AsInt(), 1 << 16);
      o.indent = std::string(n > 0 ? static_cast<size_t>(n) : 0, ' ');
    } else {
      ThrowRuntime("can't multiply sequence by non-int of type '" + TypeName(indent) + "'");
    }
    o.item_separator = ",";
  }
  Value seps = b.GetOr(2, Value::None());
  if (!seps.IsNone()) {
    ValueList parts = ev.Iterate(seps);
    if (parts.size() != 2 || !parts[0].IsString() || !parts[1].IsString()) {
      ThrowRuntime("separators must be a (item_separator, key_separator) pair of strings");
    }
    o.item_separator = parts[0].Str();
    o.key_separator = parts[1].Str();
  }
  o.sort_keys = Truthy(b.GetOr(3, Value::Bool(false)));
  return ev.NewString(ToJson(in, o));
}

// pprint.pformat sorts dict keys (line wrapping of long values is not reproduced).
Value SortDicts(const Value& v) {
  if (v.IsListOrTuple()) {
    ValueList items;
    for (const Value& item : v.Items()) items.push_back(SortDicts(item));
    return v.IsTuple() ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
  }
  if (!v.IsDict()) return v;
  std::vector<std::pair<Value, Value>> entries = v.GetDict().entries();
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    if (a.first.IsString() != b.first.IsString()) return b.first.IsString();
    return LessThan(a.first, b.first);
  });
  Dict d;
  for (auto& [k, val] : entries) d.Set(k, SortDicts(val));
  return Value::MakeDict(std::move(d));
}

Value Pprint(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("pprint", args, {});
  return ev.NewString(Repr(SortDicts(in)));
}

}  // namespace

void RegisterTextFilters(FilterTable& t) {
  t["upper"] = Upper;
  t["lower"] = Lower;
  t["capitalize"] = Capitalize;
  t["title"] = Title;
  t["trim"] = Trim;
  t["replace"] = Replace;
  t["center"] = Center;
  t["indent"] = Indent;
  t["truncate"] = Truncate;
  t["wordcount"] = Wordcount;
  t["striptags"] = Striptags;
  t["escape"] = Escape;
  t["e"] = Escape;
  t["forceescape"] = ForceEscape;
  t["safe"] = Safe;
  t["string"] = String;
  t["format"] = Format;
  t["tojson"] = ToJsonFilter;
  t["pprint"] = Pprint;
}

}  // namespace r1d::tokenizer::jinja
