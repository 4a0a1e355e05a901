#pragma once
// Syntax tree of a parsed template. Nodes are plain structs owned by unique_ptr; the tree is
// immutable after parsing, so one Template can be rendered from many threads.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/registry.h"
#include "tokenizer/jinja/value.h"

namespace r1d::tokenizer::jinja {

enum class ExprKind {
  kConst,
  kName,
  kNsRef,  // `ns.attr` as an assignment target
  kList,
  kTuple,
  kDict,
  kGetAttr,  // a.name
  kGetItem,  // a[b]
  kSlice,    // a[start:stop:step] as the key of kGetItem; operands may be null
  kCall,     // a(args)
  kFilter,   // a | name(args); a is null inside {% filter %} / {% set x | f %} blocks
  kTest,     // a is name(args)
  kNot,
  kNeg,
  kPos,
  kAnd,
  kOr,
  kBinary,
  kCompare,
  kConcat,    // a ~ b ~ ...
  kCondExpr,  // b if a else c (c may be null)
};

enum class BinOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct CallSyntax {
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args;    // *args
  ExprPtr dyn_kwargs;  // **kwargs
};

struct Expr {
  ExprKind kind = ExprKind::kConst;
  int line = 0;
  Value constant;    // kConst
  std::string name;  // kName / kNsRef namespace / kGetAttr attribute / kFilter / kTest name
  std::string attr;  // kNsRef attribute
  BinOp bin_op = BinOp::kAdd;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;                  // kList / kTuple / kConcat, kDict keys
  std::vector<ExprPtr> values;                 // kDict values
  std::vector<std::pair<CmpOp, ExprPtr>> ops;  // kCompare
  CallSyntax call;                             // kCall / kFilter / kTest arguments
  FilterFn filter = nullptr;  // kFilter; null: unknown, an error when reached at runtime
  TestFn test = nullptr;      // kTest; likewise
};

enum class StmtKind {
  kData,
  kOutput,  // {{ expr }} and {% print %}
  kIf,
  kFor,
  kSet,
  kSetBlock,
  kMacro,
  kCallBlock,
  kFilterBlock,
  kWith,
  kBreak,
  kContinue,
  kScope,        // {% block %} / {% generation %}: renders its body in place
  kUnsupported,  // include / import / extends: no loader, an error when reached
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroDef {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
  Body body;
  bool catch_kwargs = false;  // body mentions `kwargs`
  bool catch_varargs = false;
  bool caller = false;  // body mentions `caller`
  int line = 0;
};

struct Stmt {
  StmtKind kind = StmtKind::kData;
  int line = 0;
  std::string text;            // kData; kUnsupported: the tag name
  std::vector<ExprPtr> exprs;  // kOutput; kWith targets
  std::vector<ExprPtr> conds;  // kIf: conditions of if/elif, parallel to bodies
  std::vector<Body> bodies;
  Body else_body;               // kIf / kFor
  ExprPtr target;               // kFor / kSet / kSetBlock
  ExprPtr iter;                 // kFor
  ExprPtr cond;                 // kFor: `for x in y if cond`
  ExprPtr value;                // kSet; kCallBlock: the call
  std::vector<ExprPtr> values;  // kWith values
  ExprPtr filter;               // kSetBlock / kFilterBlock: filter chain applied to the body
  Body body;
  bool recursive = false;
  std::unique_ptr<MacroDef> macro;  // kMacro / kCallBlock (the caller)
};

}  // namespace r1d::tokenizer::jinja
