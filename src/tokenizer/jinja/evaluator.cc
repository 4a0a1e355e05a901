#include "tokenizer/jinja/evaluator.h"

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/registry.h"
#include "tokenizer/jinja/utf8.h"

namespace r1d::tokenizer::jinja {
namespace {

class MacroObject : public Object {
 public:
  MacroObject(const MacroDef* def, std::weak_ptr<Frame> closure)
      : def_(def), closure_(std::move(closure)) {}
  std::string TypeName() const override { return "Macro"; }
  std::string Repr() const override { return "<Macro '" + def_->name + "'>"; }
  bool IsCallable() const override { return true; }
  Value Call(Evaluator& ev, CallArgs& args) override {
    return ev.CallMacro(*def_, closure_.lock(), args);
  }
  std::optional<Value> GetAttr(std::string_view name) const override {
    if (name == "name") return Value::String(def_->name);
    if (name == "arguments") {
      ValueList names;
      for (const std::string& p : def_->params) names.push_back(Value::String(p));
      return Value::Tuple(std::move(names));
    }
    if (name == "catch_kwargs") return Value::Bool(def_->catch_kwargs);
    if (name == "catch_varargs") return Value::Bool(def_->catch_varargs);
    if (name == "caller") return Value::Bool(def_->caller);
    return std::nullopt;
  }

 private:
  const MacroDef* def_;
  std::weak_ptr<Frame> closure_;  // weak: the frame itself may hold this macro
};

// Jinja2's LoopContext. One object per loop, updated in place each iteration.
class LoopObject : public Object, public std::enable_shared_from_this<LoopObject> {
 public:
  LoopObject(std::shared_ptr<const ValueList> items, int depth, const Stmt* recursive,
             std::weak_ptr<Frame> frame)
      : items_(std::move(items)), depth_(depth), recursive_(recursive), frame_(std::move(frame)) {}
  std::string TypeName() const override { return "LoopContext"; }
  std::string Repr() const override {
    return "<LoopContext " + std::to_string(index0_ + 1) + "/" + std::to_string(items_->size()) +
           ">";
  }
  void set_index0(size_t i) { index0_ = i; }
  bool IsCallable() const override { return true; }
  Value Call(Evaluator& ev, CallArgs& args) override {
    if (recursive_ == nullptr) {
      ThrowRuntime("Tried to call non recursive loop. Maybe you forgot the 'recursive' modifier.");
    }
    if (args.args.size() != 1 || !args.kwargs.empty()) {
      ThrowRuntime("loop() takes exactly one argument (the iterable)");
    }
    return ev.RunRecursiveLoop(*recursive_, frame_.lock(), args.args[0], depth_ + 1);
  }

  std::optional<Value> GetAttr(std::string_view name) const override {
    const int64_t n = static_cast<int64_t>(items_->size());
    const int64_t i = static_cast<int64_t>(index0_);
    if (name == "index") return Value::Int(i + 1);
    if (name == "index0") return Value::Int(i);
    if (name == "revindex") return Value::Int(n - i);
    if (name == "revindex0") return Value::Int(n - i - 1);
    if (name == "first") return Value::Bool(i == 0);
    if (name == "last") return Value::Bool(i == n - 1);
    if (name == "length") return Value::Int(n);
    if (name == "depth") return Value::Int(depth_ + 1);
    if (name == "depth0") return Value::Int(depth_);
    if (name == "previtem") {
      if (i == 0) return Value::Undefined("there is no previous item");
      return (*items_)[index0_ - 1];
    }
    if (name == "nextitem") {
      if (i + 1 >= n) return Value::Undefined("there is no next item");
      return (*items_)[index0_ + 1];
    }
    if (name == "cycle") {
      size_t index0 = index0_;
      return MakeFunction("cycle", [index0](Evaluator&, CallArgs& args) -> Value {
        if (args.args.empty()) ThrowRuntime("no items for cycling given");
        return args.args[index0 % args.args.size()];
      });
    }
    if (name == "changed") {
      std::weak_ptr<const LoopObject> self = weak_from_this();
      return MakeFunction("changed", [self](Evaluator&, CallArgs& args) -> Value {
        auto loop = std::const_pointer_cast<LoopObject>(self.lock());
        if (!loop) return Value::Bool(false);
        Value now = Value::Tuple(args.args);
        if (loop->has_last_ && Equals(loop->last_changed_, now)) return Value::Bool(false);
        loop->has_last_ = true;
        loop->last_changed_ = now;
        return Value::Bool(true);
      });
    }
    return std::nullopt;
  }

 private:
  std::shared_ptr<const ValueList> items_;
  size_t index0_ = 0;
  int depth_;
  const Stmt* recursive_;
  std::weak_ptr<Frame> frame_;
  bool has_last_ = false;
  Value last_changed_;
};

std::string UndefinedMsg(const Value& v) {
  return v.UndefinedMessage().empty() ? "undefined value" : v.UndefinedMessage();
}

// Restores the current frame on scope exit (also when an error unwinds).
class FrameSwap {
 public:
  FrameSwap(std::shared_ptr<Frame>* slot, std::shared_ptr<Frame> next)
      : slot_(slot), saved_(std::move(*slot)) {
    *slot_ = std::move(next);
  }
  ~FrameSwap() { *slot_ = std::move(saved_); }
  const std::shared_ptr<Frame>& saved() const { return saved_; }

 private:
  std::shared_ptr<Frame>* slot_;
  std::shared_ptr<Frame> saved_;
};

}  // namespace

const Value* Frame::Find(std::string_view name) const {
  for (const Frame* f = this; f != nullptr; f = f->parent_.get()) {
    for (const auto& [k, v] : f->vars_) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Frame::Set(std::string_view name, Value value) {
  for (auto& [k, v] : vars_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars_.emplace_back(std::string(name), std::move(value));
}

struct Evaluator::Nest {
  explicit Nest(Evaluator* ev) : ev_(ev) {
    if (++ev_->nesting_ > ev_->options_.limits.max_nesting) {
      --ev_->nesting_;
      ThrowLimit("template recursion too deep (more than " +
                 std::to_string(ev_->options_.limits.max_nesting) + " nested evaluations)");
    }
  }
  ~Nest() { --ev_->nesting_; }
  Evaluator* ev_;
};

Evaluator::Evaluator(const RenderOptions& options) : options_(options) {}

Evaluator::~Evaluator() {
  // Namespaces are the only mutable values, so clearing them breaks every reference cycle a
  // template can build (ns.self = ns) before the shared pointers are released.
  for (auto& ns : namespaces_) ns->Clear();
  if (root_) root_->Clear();
}

std::string Evaluator::Render(const Body& body, const Dict& context) {
  Dict globals;
  AddBuiltinGlobals(globals);
  auto global_frame = std::make_shared<Frame>(nullptr);
  for (const auto& [k, v] : globals.entries()) global_frame->Set(k.Str(), v);
  root_ = std::make_shared<Frame>(global_frame);
  for (const auto& [k, v] : context.entries()) {
    if (k.IsString()) root_->Set(k.Str(), v);
  }
  frame_ = root_;
  std::string out;
  Exec(body, out);
  return out;
}

// ---- services ---------------------------------------------------------------------------------

void Evaluator::Step() {
  if (++steps_ > options_.limits.max_steps) {
    ThrowLimit("template exceeded the step limit (" + std::to_string(options_.limits.max_steps) +
               " operations)");
  }
}

void Evaluator::ChargeBytes(size_t n) {
  total_bytes_ += n;
  if (total_bytes_ > options_.limits.max_total_bytes) {
    ThrowLimit("template built more than " + std::to_string(options_.limits.max_total_bytes) +
               " bytes of strings");
  }
}

Value Evaluator::NewString(std::string s, bool markup) {
  if (s.size() > options_.limits.max_string_bytes) {
    ThrowLimit("string longer than " + std::to_string(options_.limits.max_string_bytes) + " bytes");
  }
  ChargeBytes(s.size());
  return markup ? Value::Markup(std::move(s)) : Value::String(std::move(s));
}

Value Evaluator::NewList(ValueList items, bool tuple) {
  if (items.size() > options_.limits.max_list_items) {
    ThrowLimit("list longer than " + std::to_string(options_.limits.max_list_items) + " items");
  }
  ChargeBytes(items.size() * sizeof(Value));
  return tuple ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
}

void Evaluator::Append(std::string& out, std::string_view text) {
  if (out.size() + text.size() > options_.limits.max_string_bytes) {
    ThrowLimit("output larger than " + std::to_string(options_.limits.max_string_bytes) + " bytes");
  }
  ChargeBytes(text.size());
  out.append(text);
}

Value Evaluator::CallValue(const Value& callee, CallArgs& args) {
  Step();
  if (callee.IsUndefined()) ThrowRuntime(UndefinedMsg(callee));
  if (callee.IsObject() && callee.Obj()->IsCallable()) {
    Nest nest(this);
    // Keep the callee alive during the call even if the call rebinds its name.
    std::shared_ptr<Object> keep = callee.ObjPtr();
    return keep->Call(*this, args);
  }
  ThrowRuntime("'" + TypeName(callee) + "' object is not callable");
}

Value Evaluator::CallFilter(const std::string& name, const Value& input, CallArgs& args) {
  FilterFn fn = FindFilter(name);
  if (fn == nullptr) ThrowRuntime("No filter named '" + name + "'.");
  Step();
  Nest nest(this);
  return fn(*this, input, args);
}

bool Evaluator::CallTest(const std::string& name, const Value& input, CallArgs& args) {
  TestFn fn = FindTest(name);
  if (fn == nullptr) ThrowRuntime("No test named '" + name + "'.");
  Step();
  Nest nest(this);
  return fn(*this, input, args);
}

ValueList Evaluator::Iterate(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return {};
    case ValueKind::kString: {
      ValueList out;
      const std::string& s = v.Str();
      size_t pos = 0;
      while (pos < s.size()) {
        size_t start = pos;
        NextCodePoint(s, &pos);
        out.push_back(Value::String(s.substr(start, pos - start)));
      }
      return out;
    }
    case ValueKind::kList:
    case ValueKind::kTuple:
      return v.Items();
    case ValueKind::kDict: {
      ValueList out;
      for (const auto& [k, val] : v.GetDict().entries()) out.push_back(k);
      return out;
    }
    case ValueKind::kObject: {
      ValueList out;
      if (v.Obj()->Iterate(&out)) return out;
      break;
    }
    default:
      break;
  }
  ThrowRuntime("'" + TypeName(v) + "' object is not iterable");
}

Value Evaluator::GetAttr(const Value& obj, std::string_view name) {
  auto missing = [&]() {
    return Value::Undefined(StrRepr(ObjectTypeRepr(obj)) + " has no attribute " + StrRepr(name));
  };
  bool dunder = !name.empty() && name[0] == '_';
  switch (obj.kind()) {
    case ValueKind::kUndefined:
      ThrowRuntime(UndefinedMsg(obj));
    case ValueKind::kObject: {
      if (dunder) return missing();
      std::optional<Value> v = obj.Obj()->GetAttr(name);
      return v ? *v : missing();
    }
    case ValueKind::kDict: {
      // Python's getattr finds dict methods (items, get, ...) before keys.
      if (!dunder) {
        if (std::optional<Value> m = GetMethod(obj, name)) return *m;
      }
      const Value* v = obj.GetDict().FindStr(name);
      return v != nullptr ? *v : missing();
    }
    default:
      if (!dunder) {
        if (std::optional<Value> m = GetMethod(obj, name)) return *m;
      }
      return missing();
  }
}

Value Evaluator::GetItem(const Value& obj, const Value& key) {
  auto missing = [&]() {
    if (key.IsString()) {
      return Value::Undefined(StrRepr(ObjectTypeRepr(obj)) + " has no attribute " +
                              StrRepr(key.Str()));
    }
    return Value::Undefined(ObjectTypeRepr(obj) + " has no element " + Repr(key));
  };
  // Jinja2 falls back to getattr for string keys when obj[key] fails.
  auto fallback = [&]() {
    if (key.IsString() && !key.Str().empty() && key.Str()[0] != '_') {
      if (obj.IsObject()) {
        if (std::optional<Value> v = obj.Obj()->GetAttr(key.Str())) return *v;
      } else if (std::optional<Value> m = GetMethod(obj, key.Str())) {
        return *m;
      }
    }
    return missing();
  };
  switch (obj.kind()) {
    case ValueKind::kUndefined:
      ThrowRuntime(UndefinedMsg(obj));
    case ValueKind::kDict: {
      if (IsHashable(key)) {
        if (const Value* v = obj.GetDict().Find(key)) return *v;
      }
      return fallback();
    }
    case ValueKind::kList:
    case ValueKind::kTuple: {
      if (!key.IsIntLike()) return fallback();
      const ValueList& items = obj.Items();
      int64_t i = key.AsInt();
      int64_t n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return missing();
      return items[static_cast<size_t>(i)];
    }
    case ValueKind::kString: {
      if (!key.IsIntLike()) return fallback();
      std::u32string cps = DecodeUtf8(obj.Str());
      int64_t i = key.AsInt();
      int64_t n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return missing();
      std::string out;
      AppendUtf8(out, cps[static_cast<size_t>(i)]);
      return obj.IsMarkup() ? Value::Markup(std::move(out)) : Value::String(std::move(out));
    }
    default:
      return fallback();
  }
}

// ---- statements -------------------------------------------------------------------------------

Evaluator::Flow Evaluator::Exec(const Body& body, std::string& out) {
  for (const StmtPtr& s : body) {
    Flow f = ExecStmt(*s, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

std::string Evaluator::RenderScoped(const Body& body) {
  FrameSwap scope(&frame_, std::make_shared<Frame>(frame_));
  std::string text;
  Exec(body, text);
  return text;
}

Evaluator::Flow Evaluator::ExecStmt(const Stmt& s, std::string& out) {
  Nest nest(this);
  Step();
  try {
    switch (s.kind) {
      case StmtKind::kData:
        Append(out, s.text);
        return Flow::kNormal;
      case StmtKind::kOutput:
        for (const ExprPtr& e : s.exprs) Append(out, ToStr(Eval(*e)));
        return Flow::kNormal;
      case StmtKind::kIf:
        for (size_t i = 0; i < s.conds.size(); ++i) {
          if (Truthy(Eval(*s.conds[i]))) return Exec(s.bodies[i], out);
        }
        return Exec(s.else_body, out);
      case StmtKind::kFor:
        ExecFor(s, Eval(*s.iter), 0, out);
        return Flow::kNormal;
      case StmtKind::kSet:
        Assign(*s.target, Eval(*s.value));
        return Flow::kNormal;
      case StmtKind::kSetBlock: {
        Value v = NewString(RenderScoped(s.body));
        if (s.filter) {
          const Value* saved = block_input_;
          block_input_ = &v;
          Value filtered = Eval(*s.filter);
          block_input_ = saved;
          v = filtered;
        }
        Assign(*s.target, v);
        return Flow::kNormal;
      }
      case StmtKind::kMacro:
        frame_->Set(s.macro->name,
                    Value::MakeObject(std::make_shared<MacroObject>(s.macro.get(), frame_)));
        return Flow::kNormal;
      case StmtKind::kCallBlock: {
        const Expr& call = *s.value;
        Value callee = Eval(*call.a);
        CallArgs args = EvalCallArgs(call.call);
        args.kwargs.emplace_back(
            "caller", Value::MakeObject(std::make_shared<MacroObject>(s.macro.get(), frame_)));
        Append(out, ToStr(CallValue(callee, args)));
        return Flow::kNormal;
      }
      case StmtKind::kFilterBlock: {
        Value v = NewString(RenderScoped(s.body));
        const Value* saved = block_input_;
        block_input_ = &v;
        Value filtered = Eval(*s.filter);
        block_input_ = saved;
        Append(out, ToStr(filtered));
        return Flow::kNormal;
      }
      case StmtKind::kWith: {
        ValueList values;
        for (const ExprPtr& e : s.values) values.push_back(Eval(*e));
        FrameSwap scope(&frame_, std::make_shared<Frame>(frame_));
        for (size_t i = 0; i < s.exprs.size(); ++i) Assign(*s.exprs[i], values[i]);
        return Exec(s.body, out);
      }
      case StmtKind::kBreak:
        return Flow::kBreak;
      case StmtKind::kContinue:
        return Flow::kContinue;
      case StmtKind::kScope:
        return Exec(s.body, out);
      case StmtKind::kUnsupported:
        ThrowRuntime("'" + s.text +
                     "' is not supported: chat templates are rendered without a template loader");
    }
  } catch (JinjaError& e) {
    if (e.line() == 0) e.set_line(s.line);
    throw;
  }
  return Flow::kNormal;
}

void Evaluator::ExecFor(const Stmt& s, const Value& iterable, int depth, std::string& out) {
  ValueList items = Iterate(iterable);
  if (s.cond) {
    ValueList kept;
    for (Value& item : items) {
      FrameSwap scope(&frame_, std::make_shared<Frame>(frame_));
      Assign(*s.target, item);
      if (Truthy(Eval(*s.cond))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    FrameSwap scope(&frame_, std::make_shared<Frame>(frame_));
    Exec(s.else_body, out);
    return;
  }
  auto shared_items = std::make_shared<const ValueList>(std::move(items));
  auto loop = std::make_shared<LoopObject>(shared_items, depth, s.recursive ? &s : nullptr, frame_);
  Value loop_value = Value::MakeObject(loop);
  std::shared_ptr<Frame> outer = frame_;
  for (size_t i = 0; i < shared_items->size(); ++i) {
    if (++iterations_ > options_.limits.max_loop_iterations) {
      ThrowLimit("template exceeded the loop iteration limit (" +
                 std::to_string(options_.limits.max_loop_iterations) + ")");
    }
    Step();
    loop->set_index0(i);
    // Each iteration gets a fresh scope: a `set` inside the body does not carry over to the
    // next iteration or out of the loop (hence namespace()).
    FrameSwap scope(&frame_, std::make_shared<Frame>(outer));
    Assign(*s.target, (*shared_items)[i]);
    frame_->Set("loop", loop_value);
    if (Exec(s.body, out) == Flow::kBreak) break;
  }
}

Value Evaluator::RunRecursiveLoop(const Stmt& loop, const std::shared_ptr<Frame>& frame,
                                  const Value& iterable, int depth) {
  if (++call_depth_ > options_.limits.max_call_depth) {
    --call_depth_;
    ThrowLimit("maximum recursion depth exceeded in recursive loop");
  }
  FrameSwap scope(&frame_, frame ? frame : root_);
  std::string out;
  try {
    ExecFor(loop, iterable, depth, out);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return NewString(std::move(out));
}

Value Evaluator::CallMacro(const MacroDef& def, const std::shared_ptr<Frame>& closure,
                           CallArgs& args) {
  if (call_depth_ + 1 > options_.limits.max_call_depth) {
    ThrowLimit("maximum recursion depth exceeded: macro '" + def.name + "' nested more than " +
               std::to_string(options_.limits.max_call_depth) + " calls deep");
  }
  struct DepthCount {
    explicit DepthCount(int* d) : depth(d) { ++*depth; }
    ~DepthCount() { --*depth; }
    int* depth;
  } count(&call_depth_);

  auto frame = std::make_shared<Frame>(closure ? closure : root_);
  const size_t np = def.params.size();
  std::vector<bool> bound(np, false);
  ValueList varargs;
  for (size_t i = 0; i < args.args.size(); ++i) {
    if (i < np) {
      frame->Set(def.params[i], args.args[i]);
      bound[i] = true;
    } else if (def.catch_varargs) {
      varargs.push_back(args.args[i]);
    } else {
      ThrowRuntime("macro '" + def.name + "' takes not more than " + std::to_string(np) +
                   " argument(s)");
    }
  }
  Dict kwargs;
  Value caller = Value::Undefined("No caller defined");
  for (auto& [key, value] : args.kwargs) {
    size_t idx = np;
    for (size_t i = 0; i < np; ++i) {
      if (def.params[i] == key) idx = i;
    }
    if (idx < np) {
      if (bound[idx]) {
        ThrowRuntime("macro '" + def.name + "' got multiple values for argument '" + key + "'");
      }
      frame->Set(key, value);
      bound[idx] = true;
    } else if (key == "caller" && def.caller) {
      caller = value;
    } else if (def.catch_kwargs) {
      kwargs.Set(Value::String(key), value);
    } else {
      ThrowRuntime("macro '" + def.name + "' takes no keyword argument '" + key + "'");
    }
  }
  FrameSwap scope(&frame_, frame);
  const size_t first_default = np - def.defaults.size();
  for (size_t i = 0; i < np; ++i) {
    if (bound[i]) continue;
    if (i >= first_default) {
      frame->Set(def.params[i], Eval(*def.defaults[i - first_default]));
    } else {
      frame->Set(def.params[i],
                 Value::Undefined("parameter " + StrRepr(def.params[i]) + " was not provided"));
    }
  }
  if (def.catch_varargs) frame->Set("varargs", Value::Tuple(std::move(varargs)));
  if (def.catch_kwargs) frame->Set("kwargs", Value::MakeDict(std::move(kwargs)));
  if (def.caller) frame->Set("caller", caller);
  std::string out;
  Exec(def.body, out);
  return NewString(std::move(out));
}

void Evaluator::Assign(const Expr& target, const Value& value) {
  switch (target.kind) {
    case ExprKind::kName:
      frame_->Set(target.name, value);
      return;
    case ExprKind::kTuple: {
      if (!value.IsUndefined() && !value.IsString() && !value.IsListOrTuple() && !value.IsDict() &&
          !value.IsObject()) {
        ThrowRuntime("cannot unpack non-iterable " + TypeName(value) + " object");
      }
      ValueList items = Iterate(value);
      size_t want = target.items.size();
      if (items.size() < want) {
        ThrowRuntime("not enough values to unpack (expected " + std::to_string(want) + ", got " +
                     std::to_string(items.size()) + ")");
      }
      if (items.size() > want) {
        ThrowRuntime("too many values to unpack (expected " + std::to_string(want) + ")");
      }
      for (size_t i = 0; i < want; ++i) Assign(*target.items[i], items[i]);
      return;
    }
    case ExprKind::kNsRef: {
      Value ns = Lookup(target.name);
      if (!ns.IsObject() || !ns.Obj()->IsNamespace()) {
        ThrowRuntime("cannot assign attribute on non-namespace object");
      }
      ns.Obj()->SetAttr(target.attr, value);
      return;
    }
    default:
      ThrowRuntime("can't assign to this expression");
  }
}

// ---- expressions ------------------------------------------------------------------------------

Value Evaluator::Lookup(const std::string& name) const {
  if (const Value* v = frame_->Find(name)) return *v;
  return Value::Undefined(StrRepr(name) + " is undefined");
}

CallArgs Evaluator::EvalCallArgs(const CallSyntax& call) {
  CallArgs r;
  for (const ExprPtr& a : call.args) r.args.push_back(Eval(*a));
  for (const auto& [key, expr] : call.kwargs) r.kwargs.emplace_back(key, Eval(*expr));
  if (call.dyn_args) {
    for (Value& v : Iterate(Eval(*call.dyn_args))) r.args.push_back(std::move(v));
  }
  if (call.dyn_kwargs) {
    Value d = Eval(*call.dyn_kwargs);
    if (!d.IsDict()) ThrowRuntime("argument after ** must be a mapping, not " + TypeName(d));
    for (const auto& [k, v] : d.GetDict().entries()) {
      if (!k.IsString()) ThrowRuntime("keywords must be strings");
      r.kwargs.emplace_back(k.Str(), v);
    }
  }
  return r;
}

Value Evaluator::EvalSlice(const Value& obj, const Expr& slice) {
  Value start = slice.a ? Eval(*slice.a) : Value::None();
  Value stop = slice.b ? Eval(*slice.b) : Value::None();
  Value step = slice.c ? Eval(*slice.c) : Value::None();
  if (obj.IsUndefined()) ThrowRuntime(UndefinedMsg(obj));
  return SliceValue(*this, obj, start, stop, step);
}

Value Evaluator::Eval(const Expr& e) {
  Nest nest(this);
  try {
    return EvalInner(e);
  } catch (JinjaError& err) {
    if (err.line() == 0) err.set_line(e.line);
    throw;
  }
}

Value Evaluator::EvalInner(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kConst:
      return e.constant;
    case ExprKind::kName:
      return Lookup(e.name);
    case ExprKind::kNsRef:
      return GetAttr(Lookup(e.name), e.attr);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      ValueList items;
      items.reserve(e.items.size());
      for (const ExprPtr& item : e.items) items.push_back(Eval(*item));
      return NewList(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      Dict d;
      for (size_t i = 0; i < e.items.size(); ++i) {
        Value k = Eval(*e.items[i]);
        d.Set(std::move(k), Eval(*e.values[i]));
      }
      return Value::MakeDict(std::move(d));
    }
    case ExprKind::kGetAttr:
      return GetAttr(Eval(*e.a), e.name);
    case ExprKind::kGetItem: {
      Value obj = Eval(*e.a);
      if (e.b->kind == ExprKind::kSlice) return EvalSlice(obj, *e.b);
      return GetItem(obj, Eval(*e.b));
    }
    case ExprKind::kSlice:
      ThrowRuntime("extended slicing is not supported");
    case ExprKind::kCall: {
      Value callee = Eval(*e.a);
      CallArgs args = EvalCallArgs(e.call);
      return CallValue(callee, args);
    }
    case ExprKind::kFilter: {
      Value input;
      if (e.a) {
        input = Eval(*e.a);
      } else if (block_input_ != nullptr) {
        input = *block_input_;
      }
      CallArgs args = EvalCallArgs(e.call);
      if (e.filter == nullptr) ThrowRuntime("No filter named '" + e.name + "' found.");
      Step();
      return e.filter(*this, input, args);
    }
    case ExprKind::kTest: {
      Value input = Eval(*e.a);
      CallArgs args = EvalCallArgs(e.call);
      if (e.test == nullptr) ThrowRuntime("No test named '" + e.name + "' found.");
      Step();
      return Value::Bool(e.test(*this, input, args));
    }
    case ExprKind::kNot:
      return Value::Bool(!Truthy(Eval(*e.a)));
    case ExprKind::kNeg:
    case ExprKind::kPos:
      return UnaryOp(e.kind == ExprKind::kNeg, Eval(*e.a));
    case ExprKind::kAnd: {
      Value l = Eval(*e.a);
      if (!Truthy(l)) return l;
      return Eval(*e.b);
    }
    case ExprKind::kOr: {
      Value l = Eval(*e.a);
      if (Truthy(l)) return l;
      return Eval(*e.b);
    }
    case ExprKind::kBinary: {
      Value l = Eval(*e.a);
      Value r = Eval(*e.b);
      return BinaryOp(*this, e.bin_op, l, r);
    }
    case ExprKind::kCompare: {
      Value left = Eval(*e.a);
      for (const auto& [op, expr] : e.ops) {
        Value right = Eval(*expr);
        if (!CompareOp(*this, op, left, right)) return Value::Bool(false);
        left = std::move(right);
      }
      return Value::Bool(true);
    }
    case ExprKind::kConcat: {
      std::string s;
      for (const ExprPtr& item : e.items) {
        s += ToStr(Eval(*item));
        if (s.size() > options_.limits.max_string_bytes) NewString(std::move(s));
      }
      return NewString(std::move(s));
    }
    case ExprKind::kCondExpr:
      if (Truthy(Eval(*e.a))) return Eval(*e.b);
      if (e.c) return Eval(*e.c);
      return Value::Undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
  }
  return Value();
}

}  // namespace r1d::tokenizer::jinja
