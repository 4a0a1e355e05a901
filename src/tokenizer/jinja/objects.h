#pragma once
// Object kinds shared by the evaluator and the built-ins: callables, namespace(), iterators.
#include <functional>
#include <memory>
#include <string>

#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

// A built-in function or a bound method (the receiver is captured by the closure).
class BuiltinFunction : public Object {
 public:
  using Fn = std::function<Value(Evaluator&, CallArgs&)>;
  BuiltinFunction(std::string name, Fn fn, std::string type_name = "builtin_function_or_method")
      : name_(std::move(name)), fn_(std::move(fn)), type_name_(std::move(type_name)) {}
  std::string TypeName() const override { return type_name_; }
  std::string Repr() const override { return "<built-in function " + name_ + ">"; }
  bool IsCallable() const override { return true; }
  Value Call(Evaluator& ev, CallArgs& args) override { return fn_(ev, args); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Fn fn_;
  std::string type_name_;
};

Value MakeFunction(std::string name, BuiltinFunction::Fn fn);

// jinja2.utils.Namespace: the one mutable object templates can build (`set ns.x = ...`).
class NamespaceObject : public Object {
 public:
  std::string TypeName() const override { return "Namespace"; }
  std::string Repr() const override;
  std::optional<Value> GetAttr(std::string_view name) const override;
  bool SetAttr(std::string_view name, Value value) override;
  bool IsNamespace() const override { return true; }
  // Drops all attributes; the evaluator calls this after rendering to break reference cycles.
  void Clear() { attrs_ = Dict(); }

 private:
  Dict attrs_;
};

// A one-pass iterator: generators from map/select/items/unique/batch/slice and
// reversed(). Items are computed eagerly; iteration consumes them as Python's would.
class IteratorObject : public Object {
 public:
  IteratorObject(ValueList items, std::string type_name = "generator")
      : items_(std::move(items)), type_name_(std::move(type_name)) {}
  // A generator whose first iteration raises `error` (Python generators fail lazily).
  static std::shared_ptr<IteratorObject> Failing(std::string error) {
    auto it = std::make_shared<IteratorObject>(ValueList());
    it->error_ = std::move(error);
    return it;
  }
  std::string TypeName() const override { return type_name_; }
  std::string Repr() const override { return "<" + type_name_ + " object>"; }
  bool Iterate(ValueList* out) override;

 private:
  ValueList items_;
  size_t pos_ = 0;
  std::string type_name_;
  std::string error_;
};

Value MakeGenerator(ValueList items, std::string type_name = "generator");

// Binds Python-style call arguments to named parameters; reports errors the way Python does.
class ArgBinder {
 public:
  // `params` are the names of the positional-or-keyword parameters after the input value.
  ArgBinder(std::string func_name, CallArgs& args, std::vector<std::string> params);
  // The i-th parameter, or nullopt when not given.
  const Value* Get(size_t i) const;
  Value GetOr(size_t i, Value fallback) const;

 private:
  std::string func_name_;
  std::vector<const Value*> bound_;
};

}  // namespace r1d::tokenizer::jinja
