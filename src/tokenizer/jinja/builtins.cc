// Global functions of the template environment: Jinja2's range/dict/namespace/cycler/joiner
// and Hugging Face's raise_exception/strftime_now.
#include <ctime>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/objects.h"
#include "tokenizer/jinja/registry.h"

namespace r1d::tokenizer::jinja {
namespace {

int64_t RangeArg(const Value& v) {
  if (!v.IsIntLike()) {
    ThrowRuntime("'" + TypeName(v) + "' object cannot be interpreted as an integer");
  }
  return v.AsInt();
}

Value Range(Evaluator& ev, CallArgs& args) {
  if (!args.kwargs.empty()) ThrowRuntime("range() takes no keyword arguments");
  size_t n = args.args.size();
  if (n < 1 || n > 3) ThrowRuntime("range expected at most 3 arguments, got " + std::to_string(n));
  int64_t start = 0, stop, step = 1;
  if (n == 1) {
    stop = RangeArg(args.args[0]);
  } else {
    start = RangeArg(args.args[0]);
    stop = RangeArg(args.args[1]);
    if (n == 3) step = RangeArg(args.args[2]);
  }
  if (step == 0) ThrowRuntime("range() arg 3 must not be zero");
  // Size computed in long double so huge bounds cannot overflow.
  long double span = static_cast<long double>(stop) - static_cast<long double>(start);
  long double count = span / static_cast<long double>(step);
  if (count > static_cast<long double>(ev.options().limits.max_range)) {
    ThrowRuntime("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" +
                 std::to_string(ev.options().limits.max_range) + ").");
  }
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    out.push_back(Value::Int(i));
    if (step > 0 ? i > INT64_MAX - step : i < INT64_MIN - step) break;
  }
  return ev.NewList(std::move(out));
}

Value DictFn(Evaluator& ev, CallArgs& args) {
  Dict d;
  if (args.args.size() > 1)
    ThrowRuntime("dict expected at most 1 argument, got " + std::to_string(args.args.size()));
  if (args.args.size() == 1) {
    const Value& src = args.args[0];
    if (src.IsDict()) {
      d = src.GetDict();
    } else {
      for (const Value& pair : ev.Iterate(src)) {
        ValueList kv = ev.Iterate(pair);
        if (kv.size() != 2)
          ThrowRuntime("dictionary update sequence element has length " +
                       std::to_string(kv.size()) + "; 2 is required");
        d.Set(kv[0], kv[1]);
      }
    }
  }
  for (auto& [k, v] : args.kwargs) d.Set(Value::String(k), v);
  return Value::MakeDict(std::move(d));
}

Value NamespaceFn(Evaluator& ev, CallArgs& args) {
  auto ns = std::make_shared<NamespaceObject>();
  if (args.args.size() > 1) ThrowRuntime("namespace expected at most 1 positional argument");
  if (args.args.size() == 1) {
    CallArgs init_args;
    init_args.args.push_back(args.args[0]);
    Value init = DictFn(ev, init_args);
    for (const auto& [k, v] : init.GetDict().entries()) {
      if (!k.IsString()) ThrowRuntime("namespace keys must be strings");
      ns->SetAttr(k.Str(), v);
    }
  }
  for (auto& [k, v] : args.kwargs) ns->SetAttr(k, v);
  ev.TrackNamespace(ns);
  return Value::MakeObject(ns);
}

class CyclerObject : public Object, public std::enable_shared_from_this<CyclerObject> {
 public:
  explicit CyclerObject(ValueList items) : items_(std::move(items)) {}
  std::string TypeName() const override { return "Cycler"; }
  std::optional<Value> GetAttr(std::string_view name) const override {
    auto self = std::const_pointer_cast<CyclerObject>(shared_from_this());
    std::weak_ptr<CyclerObject> weak = self;
    if (name == "current") return items_[pos_];
    if (name == "next") {
      return MakeFunction("next", [weak](Evaluator&, CallArgs&) -> Value {
        auto c = weak.lock();
        if (!c) return Value();
        Value v = c->items_[c->pos_];
        c->pos_ = (c->pos_ + 1) % c->items_.size();
        return v;
      });
    }
    if (name == "reset") {
      return MakeFunction("reset", [weak](Evaluator&, CallArgs&) -> Value {
        if (auto c = weak.lock()) c->pos_ = 0;
        return Value::None();
      });
    }
    return std::nullopt;
  }

 private:
  ValueList items_;
  size_t pos_ = 0;
};

}  // namespace

void AddBuiltinGlobals(Dict& globals) {
  globals.Set(Value::String("range"), MakeFunction("range", Range));
  globals.Set(Value::String("dict"), MakeFunction("dict", DictFn));
  globals.Set(Value::String("namespace"), MakeFunction("namespace", NamespaceFn));
  globals.Set(Value::String("cycler"),
              MakeFunction("cycler", [](Evaluator&, CallArgs& args) -> Value {
                if (args.args.empty()) ThrowRuntime("at least one item has to be provided");
                return Value::MakeObject(std::make_shared<CyclerObject>(args.args));
              }));
  globals.Set(Value::String("joiner"),
              MakeFunction("joiner", [](Evaluator&, CallArgs& args) -> Value {
                ArgBinder b("joiner", args, {"sep"});
                std::string sep = ToStr(b.GetOr(0, Value::String(", ")));
                auto used = std::make_shared<bool>(false);
                return MakeFunction("joiner", [sep, used](Evaluator&, CallArgs&) -> Value {
                  if (!*used) {
                    *used = true;
                    return Value::String("");
                  }
                  return Value::String(sep);
                });
              }));
  globals.Set(Value::String("raise_exception"),
              MakeFunction("raise_exception", [](Evaluator&, CallArgs& args) -> Value {
                std::string msg = args.args.empty() ? std::string() : ToStr(args.args[0]);
                throw JinjaError(ErrorKind::kRaised, msg);
              }));
  globals.Set(Value::String("strftime_now"),
              MakeFunction("strftime_now", [](Evaluator& ev, CallArgs& args) -> Value {
                ArgBinder b("strftime_now", args, {"format"});
                if (b.Get(0) == nullptr || !b.Get(0)->IsString()) {
                  ThrowRuntime("strftime_now() requires a format string");
                }
                std::tm tm{};
                if (ev.options().now) {
                  tm = ev.options().now();
                } else {
                  std::time_t t = std::time(nullptr);
                  localtime_r(&t, &tm);
                }
                // A sentinel character tells an empty result from a too-small buffer.
                std::string fmt = b.Get(0)->Str() + "\x01";
                std::string buf(256, '\0');
                while (true) {
                  size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
                  if (n > 0) {
                    buf.resize(n - 1);
                    return ev.NewString(buf);
                  }
                  if (buf.size() > (1u << 20)) ThrowRuntime("strftime_now() result too long");
                  buf.resize(buf.size() * 4);
                }
              }));
}

}  // namespace r1d::tokenizer::jinja
