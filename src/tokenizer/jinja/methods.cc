// Methods of dict / list / tuple values, and the dispatch for `value.method`.
#include <set>
#include <string>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/methods_internal.h"
#include "tokenizer/jinja/objects.h"
#include "tokenizer/jinja/registry.h"

namespace r1d::tokenizer::jinja {
namespace {

// dict_items / dict_keys / dict_values: re-iterable views with a Python-like repr.
class DictView : public Object {
 public:
  DictView(std::string type_name, ValueList items)
      : type_name_(std::move(type_name)), items_(std::move(items)) {}
  std::string TypeName() const override { return type_name_; }
  std::string Repr() const override { return type_name_ + "(" + ToStr(Value::List(items_)) + ")"; }
  bool Iterate(ValueList* out) override {
    out->insert(out->end(), items_.begin(), items_.end());
    return true;
  }
  std::optional<size_t> Length() const override { return items_.size(); }

 private:
  std::string type_name_;
  ValueList items_;
};

Value Bound(const std::string& name, BuiltinFunction::Fn fn) {
  return MakeFunction(name, std::move(fn));
}

void NoArgs(const char* name, const CallArgs& args) {
  if (!args.args.empty() || !args.kwargs.empty()) {
    ThrowRuntime(std::string(name) + "() takes no arguments");
  }
}

Value Unsafe(const Value& self, std::string_view name) {
  return Value::Undefined("access to attribute " + StrRepr(name) + " of " +
                          StrRepr(TypeName(self)) + " object is unsafe.");
}

std::optional<Value> DictMethod(const Value& self, std::string_view name) {
  static const std::set<std::string, std::less<>> kUnsafe = {"clear", "pop", "popitem",
                                                             "setdefault", "update"};
  if (kUnsafe.count(name) > 0) return Unsafe(self, name);
  if (name == "get") {
    return Bound("get", [self](Evaluator&, CallArgs& args) -> Value {
      ArgBinder b("get", args, {"key", "default"});
      if (b.Get(0) == nullptr) ThrowRuntime("get expected at least 1 argument, got 0");
      if (!IsHashable(*b.Get(0))) ThrowRuntime("unhashable type: '" + TypeName(*b.Get(0)) + "'");
      const Value* v = self.GetDict().Find(*b.Get(0));
      return v != nullptr ? *v : b.GetOr(1, Value::None());
    });
  }
  if (name == "items" || name == "keys" || name == "values") {
    std::string n(name);
    return Bound(n, [self, n](Evaluator&, CallArgs& args) -> Value {
      NoArgs(n.c_str(), args);
      ValueList out;
      for (const auto& [k, v] : self.GetDict().entries()) {
        if (n == "items") {
          out.push_back(Value::Tuple({k, v}));
        } else {
          out.push_back(n == "keys" ? k : v);
        }
      }
      return Value::MakeObject(std::make_shared<DictView>("dict_" + n, std::move(out)));
    });
  }
  if (name == "copy") {
    return Bound("copy", [self](Evaluator&, CallArgs& args) -> Value {
      NoArgs("copy", args);
      return self;
    });
  }
  return std::nullopt;
}

std::optional<Value> SeqMethod(const Value& self, std::string_view name) {
  static const std::set<std::string, std::less<>> kUnsafe = {
      "append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"};
  if (self.IsList() && kUnsafe.count(name) > 0) return Unsafe(self, name);
  if (name == "index") {
    return Bound("index", [self](Evaluator&, CallArgs& args) -> Value {
      if (args.args.empty()) ThrowRuntime("index expected at least 1 argument, got 0");
      const ValueList& items = self.Items();
      for (size_t i = 0; i < items.size(); ++i) {
        if (Equals(items[i], args.args[0])) return Value::Int(static_cast<int64_t>(i));
      }
      ThrowRuntime(Repr(args.args[0]) + " is not in " + TypeName(self));
    });
  }
  if (name == "count") {
    return Bound("count", [self](Evaluator&, CallArgs& args) -> Value {
      if (args.args.size() != 1) ThrowRuntime("count() takes exactly one argument");
      int64_t n = 0;
      for (const Value& v : self.Items()) n += Equals(v, args.args[0]) ? 1 : 0;
      return Value::Int(n);
    });
  }
  if (name == "copy" && self.IsList()) {
    return Bound("copy", [self](Evaluator&, CallArgs& args) -> Value {
      NoArgs("copy", args);
      return self;
    });
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> GetMethod(const Value& self, std::string_view name) {
  switch (self.kind()) {
    case ValueKind::kString:
      return GetStrMethod(self, name);
    case ValueKind::kDict:
      return DictMethod(self, name);
    case ValueKind::kList:
    case ValueKind::kTuple:
      return SeqMethod(self, name);
    default:
      return std::nullopt;
  }
}

}  // namespace r1d::tokenizer::jinja
