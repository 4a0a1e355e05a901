#pragma once
// Tree-walking evaluator. One Evaluator renders one template once; it is not shared between
// threads. Errors are thrown as JinjaError and converted to Status by Template::Render.
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/objects.h"
#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

// Sandbox limits. Defaults are far above what any real chat template needs and low enough that
// a hostile template stops within seconds and bounded memory.
struct RenderLimits {
  uint64_t max_steps = 20'000'000;           // statements + loop iterations + calls + filters
  uint64_t max_loop_iterations = 2'000'000;  // summed over all loops of one render (~1 s)
  int max_call_depth = 200;                  // macro recursion (Python gives up near here too)
  int max_nesting = 1500;                    // interpreter recursion of any kind
  size_t max_string_bytes = 64u << 20;       // the output and any single string
  size_t max_list_items = 4u << 20;
  uint64_t max_total_bytes = 4ull << 30;  // cumulative bytes built by string operations
  int64_t max_range = 100000;             // Jinja2 sandbox's MAX_RANGE
};

struct RenderOptions {
  RenderLimits limits;
  // Clock for strftime_now(); defaults to the local time. Tests inject a fixed date.
  std::function<std::tm()> now;
};

// One scope: the template's top level, a loop iteration, a macro call, a with block. Scopes
// hold a handful of names, so a flat vector beats a hash map here (loops create one per item).
class Frame {
 public:
  explicit Frame(std::shared_ptr<Frame> parent) : parent_(std::move(parent)) {}
  const Value* Find(std::string_view name) const;
  void Set(std::string_view name, Value value);
  const std::shared_ptr<Frame>& parent() const { return parent_; }
  void Clear() { vars_.clear(); }

 private:
  std::shared_ptr<Frame> parent_;
  std::vector<std::pair<std::string, Value>> vars_;
};

class Evaluator {
 public:
  explicit Evaluator(const RenderOptions& options);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Renders `body` with `context` as the template's variables (on top of the globals).
  std::string Render(const Body& body, const Dict& context);

  // ---- services for built-ins ----
  Value CallValue(const Value& callee, CallArgs& args);
  Value GetAttr(const Value& obj, std::string_view name);
  Value GetItem(const Value& obj, const Value& key);
  ValueList Iterate(const Value& v);  // Python iter(); TypeError when not iterable
  Value CallFilter(const std::string& name, const Value& input, CallArgs& args);
  bool CallTest(const std::string& name, const Value& input, CallArgs& args);
  void Step();
  Value NewString(std::string s, bool markup = false);  // checks size limits
  Value NewList(ValueList items, bool tuple = false);
  void ChargeBytes(size_t n);
  const RenderOptions& options() const { return options_; }
  void TrackNamespace(std::shared_ptr<NamespaceObject> ns) { namespaces_.push_back(std::move(ns)); }

  // ---- used by macro and loop objects ----
  Value CallMacro(const MacroDef& def, const std::shared_ptr<Frame>& closure, CallArgs& args);
  Value RunRecursiveLoop(const Stmt& loop, const std::shared_ptr<Frame>& frame,
                         const Value& iterable, int depth);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  struct Nest;  // RAII recursion counter

  Flow Exec(const Body& body, std::string& out);
  Flow ExecStmt(const Stmt& s, std::string& out);
  void ExecFor(const Stmt& s, const Value& iterable, int depth, std::string& out);
  void Append(std::string& out, std::string_view text);
  std::string RenderScoped(const Body& body);

  Value Eval(const Expr& e);
  Value EvalInner(const Expr& e);
  Value Lookup(const std::string& name) const;
  CallArgs EvalCallArgs(const CallSyntax& call);
  Value EvalSlice(const Value& obj, const Expr& slice);
  void Assign(const Expr& target, const Value& value);

  RenderOptions options_;
  std::shared_ptr<Frame> frame_;
  std::shared_ptr<Frame> root_;  // holds the template's top-level variables
  std::vector<std::shared_ptr<NamespaceObject>> namespaces_;
  const Value* block_input_ = nullptr;  // body text inside {% filter %} / set-block
  uint64_t steps_ = 0;
  uint64_t iterations_ = 0;
  uint64_t total_bytes_ = 0;
  int nesting_ = 0;
  int call_depth_ = 0;
};

}  // namespace r1d::tokenizer::jinja
