// Filter registry and the filters over sequences, mappings and numbers.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/filters_internal.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

// Jinja's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
std::vector<Value> AttributeParts(const Value& attribute) {
  std::vector<Value> parts;
  if (attribute.IsNone() || attribute.IsUndefined()) return parts;
  if (!attribute.IsString()) {
    parts.push_back(attribute);
    return parts;
  }
  const std::string& s = attribute.Str();
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (digits && part.size() < 18) {
      parts.push_back(Value::Int(std::stoll(part)));
    } else {
      parts.push_back(Value::String(part));
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

Value IgnoreCase(const Value& v) {
  if (v.IsString()) return Value::String(PyLower(v.Str()));
  return v;
}

struct AttrGetter {
  std::vector<Value> parts;
  const Value* fallback = nullptr;  // map(attribute=..., default=...)
  bool lower = false;

  Value operator()(Evaluator& ev, Value item) const {
    for (const Value& p : parts) {
      item = ev.GetItem(item, p);
      if (fallback != nullptr && item.IsUndefined()) item = *fallback;
    }
    return lower ? IgnoreCase(item) : item;
  }
};

// Generator filters fail only when iterated; these return that failing generator, or nullopt
// when `in` can be iterated.
bool IsIterableValue(const Value& in) {
  switch (in.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kString:
    case ValueKind::kList:
    case ValueKind::kTuple:
    case ValueKind::kDict:
      return true;
    case ValueKind::kObject: {
      std::string t = in.Obj()->TypeName();
      return t == "generator" || t.find("iterator") != std::string::npos || t == "reversed" ||
             t.rfind("dict_", 0) == 0;
    }
    default:
      return false;
  }
}

std::optional<Value> LazyNotIterable(const Value& in) {
  if (IsIterableValue(in)) return std::nullopt;
  return Value::MakeObject(
      IteratorObject::Failing("'" + TypeName(in) + "' object is not iterable"));
}

int64_t RequireInt(const Value& v, const char* what) {
  if (!v.IsIntLike()) {
    ThrowRuntime(std::string(what) + ": '" + TypeName(v) +
                 "' object cannot be interpreted as an integer");
  }
  return v.AsInt();
}

Value Length(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("length", args, {});
  switch (in.kind()) {
    case ValueKind::kUndefined:
      return Value::Int(0);
    case ValueKind::kString:
      return Value::Int(static_cast<int64_t>(Utf8Length(in.Str())));
    case ValueKind::kList:
    case ValueKind::kTuple:
      return Value::Int(static_cast<int64_t>(in.Items().size()));
    case ValueKind::kDict:
      return Value::Int(static_cast<int64_t>(in.GetDict().size()));
    case ValueKind::kObject:
      if (std::optional<size_t> n = in.Obj()->Length()) return Value::Int(static_cast<int64_t>(*n));
      break;
    default:
      break;
  }
  ThrowRuntime("object of type '" + TypeName(in) + "' has no len()");
}

Value First(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("first", args, {});
  ValueList items = ev.Iterate(in);
  if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
  return items.front();
}

Value Last(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("last", args, {});
  if (in.IsObject()) ThrowRuntime("'" + TypeName(in) + "' object is not reversible");
  if (in.IsNone() || in.IsNumber()) ThrowRuntime("'" + TypeName(in) + "' object is not reversible");
  ValueList items = ev.Iterate(in);
  if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
  return items.back();
}

Value ListFilter(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("list", args, {});
  return ev.NewList(ev.Iterate(in));
}

Value Join(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("join", args, {"d", "attribute"});
  std::string sep = ToStr(b.GetOr(0, Value::String("")));
  Value attribute = b.GetOr(1, Value::None());
  AttrGetter get{AttributeParts(attribute)};
  std::string out;
  bool first = true;
  for (const Value& item : ev.Iterate(in)) {
    if (!first) out += sep;
    first = false;
    out += ToStr(attribute.IsNone() ? item : get(ev, item));
    if (out.size() > ev.options().limits.max_string_bytes) break;
  }
  return ev.NewString(std::move(out));
}

Value Default(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("default", args, {"default_value", "boolean"});
  Value fallback = b.GetOr(0, Value::String(""));
  bool boolean = Truthy(b.GetOr(1, Value::Bool(false)));
  if (in.IsUndefined() || (boolean && !Truthy(in))) return fallback;
  return in;
}

Value Items(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("items", args, {});
  if (in.IsUndefined()) return MakeGenerator({});
  if (!in.IsDict()) {
    return Value::MakeObject(IteratorObject::Failing("Can only get item pairs from a mapping."));
  }
  ValueList pairs;
  for (const auto& [k, v] : in.GetDict().entries()) pairs.push_back(Value::Tuple({k, v}));
  return MakeGenerator(std::move(pairs));
}

void SortValues(ValueList& items, const std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return reverse ? LessThan(keys[b], keys[a]) : LessThan(keys[a], keys[b]);
  });
  ValueList sorted;
  sorted.reserve(items.size());
  for (size_t i : order) sorted.push_back(std::move(items[i]));
  items = std::move(sorted);
}

Value DictSort(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("dictsort", args, {"case_sensitive", "by", "reverse"});
  bool case_sensitive = Truthy(b.GetOr(0, Value::Bool(false)));
  std::string by = ToStr(b.GetOr(1, Value::String("key")));
  bool reverse = Truthy(b.GetOr(2, Value::Bool(false)));
  if (by != "key" && by != "value")
    ThrowRuntime("You can only sort by either \"key\" or \"value\"");
  if (!in.IsDict()) ThrowRuntime("'" + TypeName(in) + "' object has no attribute 'items'");
  ValueList pairs;
  std::vector<Value> keys;
  for (const auto& [k, v] : in.GetDict().entries()) {
    pairs.push_back(Value::Tuple({k, v}));
    const Value& key = by == "key" ? k : v;
    keys.push_back(case_sensitive ? key : IgnoreCase(key));
  }
  SortValues(pairs, keys, reverse);
  return ev.NewList(std::move(pairs));
}

Value Sort(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("sort", args, {"reverse", "case_sensitive", "attribute"});
  bool reverse = Truthy(b.GetOr(0, Value::Bool(false)));
  bool case_sensitive = Truthy(b.GetOr(1, Value::Bool(false)));
  Value attribute = b.GetOr(2, Value::None());
  ValueList items = ev.Iterate(in);
  std::vector<Value> keys;
  // "a,b" sorts by several attributes (make_multi_attrgetter).
  std::vector<AttrGetter> getters;
  if (attribute.IsString()) {
    const std::string& s = attribute.Str();
    size_t start = 0;
    while (true) {
      size_t comma = s.find(',', start);
      getters.push_back(AttrGetter{AttributeParts(Value::String(
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start)))});
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (!attribute.IsNone()) {
    getters.push_back(AttrGetter{AttributeParts(attribute)});
  }
  for (const Value& item : items) {
    if (getters.empty()) {
      keys.push_back(case_sensitive ? item : IgnoreCase(item));
      continue;
    }
    ValueList parts;
    for (const AttrGetter& g : getters) {
      Value k = g(ev, item);
      parts.push_back(case_sensitive ? k : IgnoreCase(k));
    }
    keys.push_back(Value::List(std::move(parts)));
  }
  SortValues(items, keys, reverse);
  return ev.NewList(std::move(items));
}

Value Unique(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("unique", args, {"case_sensitive", "attribute"});
  bool case_sensitive = Truthy(b.GetOr(0, Value::Bool(false)));
  Value attribute = b.GetOr(1, Value::None());
  AttrGetter get{AttributeParts(attribute), nullptr, !case_sensitive};
  if (std::optional<Value> lazy = LazyNotIterable(in)) return *lazy;
  ValueList out;
  ValueList seen;
  for (const Value& item : ev.Iterate(in)) {
    Value key = get(ev, item);
    if (!IsHashable(key)) ThrowRuntime("unhashable type: '" + TypeName(key) + "'");
    bool dup = false;
    for (const Value& s : seen) {
      if (Equals(s, key)) {
        dup = true;
        break;
      }
    }
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return MakeGenerator(std::move(out));
}

Value MinMax(Evaluator& ev, const Value& in, CallArgs& args, bool want_max) {
  ArgBinder b(want_max ? "max" : "min", args, {"case_sensitive", "attribute"});
  bool case_sensitive = Truthy(b.GetOr(0, Value::Bool(false)));
  AttrGetter get{AttributeParts(b.GetOr(1, Value::None())), nullptr, !case_sensitive};
  ValueList items = ev.Iterate(in);
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = get(ev, items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = get(ev, items[i]);
    if (want_max ? LessThan(best_key, k) : LessThan(k, best_key)) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

Value Min(Evaluator& ev, const Value& in, CallArgs& args) { return MinMax(ev, in, args, false); }
Value Max(Evaluator& ev, const Value& in, CallArgs& args) { return MinMax(ev, in, args, true); }

Value Sum(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("sum", args, {"attribute", "start"});
  Value attribute = b.GetOr(0, Value::None());
  Value total = b.GetOr(1, Value::Int(0));
  AttrGetter get{AttributeParts(attribute)};
  for (const Value& item : ev.Iterate(in)) {
    total = BinaryOp(ev, BinOp::kAdd, total, attribute.IsNone() ? item : get(ev, item));
  }
  return total;
}

Value Map(Evaluator& ev, const Value& in, CallArgs& args) {
  if (!Truthy(in)) return MakeGenerator({});
  if (std::optional<Value> lazy = LazyNotIterable(in)) return *lazy;
  ValueList out;
  if (args.args.empty()) {
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (auto& [k, v] : args.kwargs) {
      if (k == "attribute") {
        attribute = &v;
      } else if (k == "default") {
        fallback = &v;
      } else {
        ThrowRuntime("Unexpected keyword argument '" + k + "'");
      }
    }
    if (attribute == nullptr) ThrowRuntime("map requires a filter argument");
    AttrGetter get{AttributeParts(*attribute), fallback};
    for (const Value& item : ev.Iterate(in)) out.push_back(get(ev, item));
    return MakeGenerator(std::move(out));
  }
  std::string name = ToStr(args.args[0]);
  CallArgs rest;
  rest.args.assign(args.args.begin() + 1, args.args.end());
  rest.kwargs = args.kwargs;
  for (const Value& item : ev.Iterate(in)) {
    CallArgs copy = rest;
    out.push_back(ev.CallFilter(name, item, copy));
  }
  return MakeGenerator(std::move(out));
}

Value SelectOrReject(Evaluator& ev, const Value& in, CallArgs& args, bool select, bool attr) {
  if (!Truthy(in)) return MakeGenerator({});
  if (std::optional<Value> lazy = LazyNotIterable(in)) return *lazy;
  size_t off = 0;
  AttrGetter get;
  if (attr) {
    if (args.args.empty()) ThrowRuntime("Missing parameter for attribute name");
    get.parts = AttributeParts(args.args[0]);
    off = 1;
  }
  bool has_test = args.args.size() > off;
  std::string test_name = has_test ? ToStr(args.args[off]) : "";
  CallArgs rest;
  if (has_test)
    rest.args.assign(args.args.begin() + static_cast<std::ptrdiff_t>(off) + 1, args.args.end());
  rest.kwargs = args.kwargs;
  ValueList out;
  for (const Value& item : ev.Iterate(in)) {
    Value subject = attr ? get(ev, item) : item;
    bool ok;
    if (has_test) {
      CallArgs copy = rest;
      ok = ev.CallTest(test_name, subject, copy);
    } else {
      ok = Truthy(subject);
    }
    if (ok == select) out.push_back(item);
  }
  return MakeGenerator(std::move(out));
}

Value Select(Evaluator& ev, const Value& in, CallArgs& a) {
  return SelectOrReject(ev, in, a, true, false);
}
Value Reject(Evaluator& ev, const Value& in, CallArgs& a) {
  return SelectOrReject(ev, in, a, false, false);
}
Value SelectAttr(Evaluator& ev, const Value& in, CallArgs& a) {
  return SelectOrReject(ev, in, a, true, true);
}
Value RejectAttr(Evaluator& ev, const Value& in, CallArgs& a) {
  return SelectOrReject(ev, in, a, false, true);
}

Value Batch(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("batch", args, {"linecount", "fill_with"});
  if (b.Get(0) == nullptr) ThrowRuntime("batch() missing required argument 'linecount'");
  int64_t linecount = RequireInt(*b.Get(0), "batch");
  Value fill = b.GetOr(1, Value::None());
  if (std::optional<Value> lazy = LazyNotIterable(in)) return *lazy;
  ValueList out, tmp;
  for (const Value& item : ev.Iterate(in)) {
    if (static_cast<int64_t>(tmp.size()) == linecount) {
      out.push_back(Value::List(std::move(tmp)));
      tmp.clear();
    }
    tmp.push_back(item);
  }
  if (!tmp.empty()) {
    if (!fill.IsNone()) {
      while (static_cast<int64_t>(tmp.size()) < linecount) tmp.push_back(fill);
    }
    out.push_back(Value::List(std::move(tmp)));
  }
  return MakeGenerator(std::move(out));
}

Value SliceFilter(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("slice", args, {"slices", "fill_with"});
  if (b.Get(0) == nullptr) ThrowRuntime("slice() missing required argument 'slices'");
  int64_t slices = RequireInt(*b.Get(0), "slice");
  if (slices == 0) ThrowRuntime("integer division or modulo by zero");
  if (slices < 0 || slices > static_cast<int64_t>(ev.options().limits.max_list_items)) {
    ThrowRuntime("slice count out of range");
  }
  Value fill = b.GetOr(1, Value::None());
  if (std::optional<Value> lazy = LazyNotIterable(in)) return *lazy;
  ValueList seq = ev.Iterate(in);
  int64_t length = static_cast<int64_t>(seq.size());
  int64_t per = length / slices, extra = length % slices, offset = 0;
  ValueList out;
  for (int64_t n = 0; n < slices; ++n) {
    ev.Step();
    int64_t start = offset + n * per;
    if (n < extra) ++offset;
    int64_t end = offset + (n + 1) * per;
    ValueList tmp(seq.begin() + start, seq.begin() + end);
    if (!fill.IsNone() && n >= extra) tmp.push_back(fill);
    out.push_back(Value::List(std::move(tmp)));
  }
  return MakeGenerator(std::move(out));
}

Value Reverse(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("reverse", args, {});
  if (in.IsString()) {
    std::u32string cps = DecodeUtf8(in.Str());
    std::reverse(cps.begin(), cps.end());
    return ev.NewString(EncodeUtf8(cps));
  }
  ValueList items = ev.Iterate(in);
  std::reverse(items.begin(), items.end());
  if (in.IsListOrTuple() || in.IsUndefined()) {
    return MakeGenerator(std::move(items), in.IsList() ? "list_reverseiterator" : "reversed");
  }
  if (in.IsDict()) return MakeGenerator(std::move(items), "dict_reversekeyiterator");
  return ev.NewList(std::move(items));
}

Value Attr(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("attr", args, {"name"});
  if (b.Get(0) == nullptr) ThrowRuntime("attr() missing required argument 'name'");
  std::string name = ToStr(*b.Get(0));
  // Unlike `.name`, attr() never falls back to item lookup.
  if (in.IsObject()) {
    if (std::optional<Value> v = in.Obj()->GetAttr(name)) return *v;
  } else if (in.IsUndefined()) {
    ThrowRuntime(in.UndefinedMessage());
  } else if (!name.empty() && name[0] != '_') {
    if (std::optional<Value> m = GetMethod(in, name)) return *m;
  }
  (void)ev;
  return Value::Undefined(StrRepr(ObjectTypeRepr(in)) + " has no attribute " + StrRepr(name));
}

Value Abs(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("abs", args, {});
  if (in.IsFloat()) return Value::Float(std::fabs(in.AsFloat()));
  if (in.IsIntLike()) {
    if (in.AsInt() == INT64_MIN)
      ThrowRuntime("integer overflow (r1d templates use 64-bit integers)");
    return Value::Int(in.AsInt() < 0 ? -in.AsInt() : in.AsInt());
  }
  if (in.IsUndefined()) ThrowRuntime(in.UndefinedMessage());
  ThrowRuntime("bad operand type for abs(): '" + TypeName(in) + "'");
}

std::optional<int64_t> FloatToInt(double f) {
  if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) return std::nullopt;
  return static_cast<int64_t>(std::trunc(f));
}

Value Int(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("int", args, {"default", "base"});
  Value fallback = b.GetOr(0, Value::Int(0));
  Value base = b.GetOr(1, Value::Int(10));
  if (in.IsUndefined()) ThrowRuntime(in.UndefinedMessage());
  if (in.IsString()) {
    if (base.IsIntLike()) {
      if (std::optional<int64_t> v = ParsePyInt(in.Str(), static_cast<int>(base.AsInt()))) {
        return Value::Int(*v);
      }
    }
    if (std::optional<double> f = ParsePyFloat(in.Str())) {
      if (std::optional<int64_t> v = FloatToInt(*f)) return Value::Int(*v);
    }
    return fallback;
  }
  if (in.IsIntLike()) return Value::Int(in.AsInt());
  if (in.IsFloat()) {
    if (std::optional<int64_t> v = FloatToInt(in.AsFloat())) return Value::Int(*v);
  }
  return fallback;
}

Value Float(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("float", args, {"default"});
  Value fallback = b.GetOr(0, Value::Float(0.0));
  if (in.IsUndefined()) ThrowRuntime(in.UndefinedMessage());
  if (in.IsNumber()) return Value::Float(in.AsFloat());
  if (in.IsString()) {
    if (std::optional<double> f = ParsePyFloat(in.Str())) return Value::Float(*f);
  }
  return fallback;
}

double RoundHalfEven(double x, int64_t digits) {
  if (!std::isfinite(x)) return x;
  if (digits >= 0) {
    if (digits > 300) return x;
    // printf rounds the exact binary value correctly (ties to even), like Python's round().
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(digits), x);
    return std::strtod(buf, nullptr);
  }
  if (digits < -308) return std::copysign(0.0, x);
  double p = std::pow(10.0, static_cast<double>(-digits));
  double y = x / p;
  double r = std::nearbyint(y);  // default rounding mode: ties to even
  return r * p;
}

Value Round(Evaluator&, const Value& in, CallArgs& args) {
  ArgBinder b("round", args, {"precision", "method"});
  int64_t precision = RequireInt(b.GetOr(0, Value::Int(0)), "round");
  std::string method = ToStr(b.GetOr(1, Value::String("common")));
  if (method != "common" && method != "ceil" && method != "floor") {
    ThrowRuntime("method must be common, ceil or floor");
  }
  if (in.IsUndefined()) ThrowRuntime(in.UndefinedMessage());
  if (!in.IsNumber()) ThrowRuntime("type " + TypeName(in) + " doesn't define __round__ method");
  if (method == "common") {
    if (in.IsIntLike()) {
      if (precision >= 0) return Value::Int(in.AsInt());
      double r = RoundHalfEven(static_cast<double>(in.AsInt()), precision);
      return Value::Int(static_cast<int64_t>(r));
    }
    return Value::Float(RoundHalfEven(in.AsFloat(), precision));
  }
  double p = std::pow(10.0, static_cast<double>(precision));
  double v = in.AsFloat() * p;
  v = method == "ceil" ? std::ceil(v) : std::floor(v);
  return Value::Float(v / p);
}

Value GroupBy(Evaluator& ev, const Value& in, CallArgs& args) {
  ArgBinder b("groupby", args, {"attribute", "default", "case_sensitive"});
  if (b.Get(0) == nullptr) ThrowRuntime("groupby() missing required argument 'attribute'");
  Value fallback = b.GetOr(1, Value::None());
  bool case_sensitive = Truthy(b.GetOr(2, Value::Bool(false)));
  AttrGetter get{AttributeParts(*b.Get(0)), fallback.IsNone() ? nullptr : &fallback,
                 !case_sensitive};
  AttrGetter raw{AttributeParts(*b.Get(0)), fallback.IsNone() ? nullptr : &fallback, false};
  ValueList items = ev.Iterate(in);
  std::vector<Value> keys;
  for (const Value& item : items) keys.push_back(get(ev, item));
  SortValues(items, keys, false);
  keys.clear();
  for (const Value& item : items) keys.push_back(get(ev, item));
  ValueList groups;
  size_t i = 0;
  while (i < items.size()) {
    size_t j = i;
    ValueList members;
    while (j < items.size() && Equals(keys[j], keys[i])) members.push_back(items[j++]);
    Value grouper = case_sensitive ? keys[i] : raw(ev, items[i]);
    groups.push_back(Value::Tuple({grouper, Value::List(std::move(members))}));
    i = j;
  }
  return ev.NewList(std::move(groups));
}

// Jinja2 filters r1d does not implement (nothing in chat templates needs them). They are
// registered so that templates mentioning them still parse, and fail only when reached.
template <const char* kName>
Value Unsupported(Evaluator&, const Value&, CallArgs&) {
  ThrowRuntime(std::string("filter '") + kName + "' is not supported by r1d's template engine");
}
constexpr char kFilesizeformat[] = "filesizeformat";
constexpr char kRandom[] = "random";
constexpr char kUrlencode[] = "urlencode";
constexpr char kUrlize[] = "urlize";
constexpr char kWordwrap[] = "wordwrap";
constexpr char kXmlattr[] = "xmlattr";

}  // namespace

void RegisterSequenceFilters(FilterTable& t) {
  t[kFilesizeformat] = Unsupported<kFilesizeformat>;
  t[kRandom] = Unsupported<kRandom>;
  t[kUrlencode] = Unsupported<kUrlencode>;
  t[kUrlize] = Unsupported<kUrlize>;
  t[kWordwrap] = Unsupported<kWordwrap>;
  t[kXmlattr] = Unsupported<kXmlattr>;

  t["length"] = Length;
  t["count"] = Length;
  t["first"] = First;
  t["last"] = Last;
  t["list"] = ListFilter;
  t["join"] = Join;
  t["default"] = Default;
  t["d"] = Default;
  t["items"] = Items;
  t["dictsort"] = DictSort;
  t["sort"] = Sort;
  t["unique"] = Unique;
  t["min"] = Min;
  t["max"] = Max;
  t["sum"] = Sum;
  t["map"] = Map;
  t["select"] = Select;
  t["reject"] = Reject;
  t["selectattr"] = SelectAttr;
  t["rejectattr"] = RejectAttr;
  t["batch"] = Batch;
  t["slice"] = SliceFilter;
  t["reverse"] = Reverse;
  t["attr"] = Attr;
  t["abs"] = Abs;
  t["int"] = Int;
  t["float"] = Float;
  t["round"] = Round;
  t["groupby"] = GroupBy;
}

FilterFn FindFilter(std::string_view name) {
  static const FilterTable table = [] {
    FilterTable t;
    RegisterTextFilters(t);
    RegisterSequenceFilters(t);
    return t;
  }();
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace r1d::tokenizer::jinja
