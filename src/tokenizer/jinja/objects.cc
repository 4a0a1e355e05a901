#include "tokenizer/jinja/objects.h"

#include "tokenizer/jinja/error.h"

namespace r1d::tokenizer::jinja {

Value MakeFunction(std::string name, BuiltinFunction::Fn fn) {
  return Value::MakeObject(std::make_shared<BuiltinFunction>(std::move(name), std::move(fn)));
}

std::string NamespaceObject::Repr() const {
  return "<Namespace " + ToStr(Value::MakeDict(attrs_)) + ">";
}

std::optional<Value> NamespaceObject::GetAttr(std::string_view name) const {
  const Value* v = attrs_.FindStr(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

bool NamespaceObject::SetAttr(std::string_view name, Value value) {
  attrs_.Set(Value::String(std::string(name)), std::move(value));
  return true;
}

bool IteratorObject::Iterate(ValueList* out) {
  if (!error_.empty()) ThrowRuntime(error_);
  for (; pos_ < items_.size(); ++pos_) out->push_back(std::move(items_[pos_]));
  items_.clear();
  pos_ = 0;
  return true;
}

Value MakeGenerator(ValueList items, std::string type_name) {
  return Value::MakeObject(
      std::make_shared<IteratorObject>(std::move(items), std::move(type_name)));
}

ArgBinder::ArgBinder(std::string func_name, CallArgs& args, std::vector<std::string> params)
    : func_name_(std::move(func_name)), bound_(params.size(), nullptr) {
  if (args.args.size() > params.size()) {
    ThrowRuntime(func_name_ + "() takes at most " + std::to_string(params.size()) +
                 " argument(s) (" + std::to_string(args.args.size()) + " given)");
  }
  for (size_t i = 0; i < args.args.size(); ++i) bound_[i] = &args.args[i];
  for (auto& [key, value] : args.kwargs) {
    size_t idx = params.size();
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i] == key) idx = i;
    }
    if (idx == params.size()) {
      ThrowRuntime(func_name_ + "() got an unexpected keyword argument '" + key + "'");
    }
    if (bound_[idx] != nullptr) {
      ThrowRuntime(func_name_ + "() got multiple values for argument '" + key + "'");
    }
    bound_[idx] = &value;
  }
}

const Value* ArgBinder::Get(size_t i) const { return i < bound_.size() ? bound_[i] : nullptr; }

Value ArgBinder::GetOr(size_t i, Value fallback) const {
  const Value* v = Get(i);
  return v != nullptr ? *v : fallback;
}

}  // namespace r1d::tokenizer::jinja
