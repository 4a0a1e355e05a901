// Expression grammar, following Jinja2's precedence: conditional, or, and, not, comparisons,
// + -, ~, * / // %, **, unary, then primaries with postfix subscripts, calls, filters and tests.
#include "tokenizer/jinja/parser_impl.h"

namespace r1d::tokenizer::jinja {

ExprPtr Parser::ParseAssignTarget(bool with_tuple, bool with_namespace,
                                  const std::vector<const char*>& extra_end) {
  int line = Cur().line;
  ExprPtr target;
  if (with_tuple) {
    target = ParseTupleSimplified(extra_end, with_namespace);
  } else {
    target = ParsePrimaryTarget(with_namespace);
  }
  CheckAssignable(*target, line);
  return target;
}

void Parser::CheckAssignable(const Expr& e, int line) {
  if (e.kind == ExprKind::kName || e.kind == ExprKind::kNsRef) {
    static const std::set<std::string> kReserved = {"true", "false", "none",
                                                    "True", "False", "None"};
    if (e.kind == ExprKind::kName && kReserved.count(e.name) > 0) {
      Fail("can't assign to const", line);
    }
    return;
  }
  if (e.kind == ExprKind::kTuple) {
    for (const ExprPtr& item : e.items) CheckAssignable(*item, line);
    return;
  }
  Fail("can't assign to this expression", line);
}

ExprPtr Parser::ParsePrimaryTarget(bool with_namespace) {
  DepthGuard guard(this);
  const Token& t = Cur();
  if (t.type == TokenType::kName) {
    std::string name = Next().value;
    if (with_namespace && IsOp(".")) {
      Next();
      auto e = NewExpr(ExprKind::kNsRef, t.line);
      e->name = name;
      e->attr = ExpectAnyName();
      return e;
    }
    auto e = NewExpr(ExprKind::kName, t.line);
    e->name = name;
    return e;
  }
  if (IsOp("(")) {
    Next();
    ExprPtr e = ParseTupleSimplified({}, with_namespace);
    ExpectOp(")");
    return e;
  }
  Fail("can't assign to '" + DescribeToken(t) + "'");
}

ExprPtr Parser::ParseTupleSimplified(const std::vector<const char*>& extra_end,
                                     bool with_namespace) {
  int line = Cur().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) ExpectOp(",");
    if (IsTupleEnd(extra_end)) break;
    items.push_back(ParsePrimaryTarget(with_namespace));
    if (IsOp(",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (items.empty()) Fail("expected an assignment target, got '" + DescribeToken(Cur()) + "'");
    return std::move(items[0]);
  }
  auto e = NewExpr(ExprKind::kTuple, line);
  e->items = std::move(items);
  return e;
}

ExprPtr Parser::ParseTuple(bool /*simplified*/, bool with_condexpr,
                           const std::vector<const char*>& extra_end, bool explicit_parens) {
  int line = Cur().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) ExpectOp(",");
    if (IsTupleEnd(extra_end)) break;
    items.push_back(ParseExpression(with_condexpr));
    if (IsOp(",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) Fail("Expected an expression, got '" + DescribeToken(Cur()) + "'");
  }
  auto e = NewExpr(ExprKind::kTuple, line);
  e->items = std::move(items);
  return e;
}

ExprPtr Parser::ParseCondExpr() {
  DepthGuard guard(this);  // `else` branches recurse
  int line = Cur().line;
  ExprPtr expr1 = ParseOr();
  int links = 0;
  while (IsName("if")) {
    CountChainLink(&links);
    Next();
    SoftScope soft(this, true);
    auto e = NewExpr(ExprKind::kCondExpr, line);
    e->a = ParseOr();
    e->b = std::move(expr1);
    if (SkipName("else")) e->c = ParseCondExpr();
    expr1 = std::move(e);
    line = Cur().line;
  }
  return expr1;
}

ExprPtr Parser::ParseOr() {
  int line = Cur().line;
  ExprPtr left = ParseAnd();
  int links = 0;
  while (SkipName("or")) {
    CountChainLink(&links);
    auto e = NewExpr(ExprKind::kOr, line);
    e->a = std::move(left);
    e->b = ParseAnd();
    left = std::move(e);
    line = Cur().line;
  }
  return left;
}

ExprPtr Parser::ParseAnd() {
  int line = Cur().line;
  ExprPtr left = ParseNot();
  int links = 0;
  while (SkipName("and")) {
    CountChainLink(&links);
    auto e = NewExpr(ExprKind::kAnd, line);
    e->a = std::move(left);
    e->b = ParseNot();
    left = std::move(e);
    line = Cur().line;
  }
  return left;
}

ExprPtr Parser::ParseCompare() {
  int line = Cur().line;
  ExprPtr expr = ParseMath1();
  std::vector<std::pair<CmpOp, ExprPtr>> ops;
  while (true) {
    CmpOp op;
    if (IsOp("==")) {
      op = CmpOp::kEq;
    } else if (IsOp("!=")) {
      op = CmpOp::kNe;
    } else if (IsOp("<")) {
      op = CmpOp::kLt;
    } else if (IsOp("<=")) {
      op = CmpOp::kLe;
    } else if (IsOp(">")) {
      op = CmpOp::kGt;
    } else if (IsOp(">=")) {
      op = CmpOp::kGe;
    } else if (IsName("in")) {
      op = CmpOp::kIn;
    } else if (IsName("not") && Look().type == TokenType::kName && Look().value == "in") {
      Next();
      op = CmpOp::kNotIn;
    } else {
      break;
    }
    Next();
    ops.emplace_back(op, ParseMath1());
  }
  if (ops.empty()) return expr;
  auto e = NewExpr(ExprKind::kCompare, line);
  e->a = std::move(expr);
  e->ops = std::move(ops);
  return e;
}

ExprPtr Parser::ParseMath1() {
  int line = Cur().line;
  ExprPtr left = ParseConcat();
  int links = 0;
  while (IsOp("+") || IsOp("-")) {
    CountChainLink(&links);
    BinOp op = Next().value == "+" ? BinOp::kAdd : BinOp::kSub;
    left = Binary(op, std::move(left), ParseConcat(), line);
    line = Cur().line;
  }
  return left;
}

ExprPtr Parser::ParseMath2() {
  int line = Cur().line;
  ExprPtr left = ParsePow();
  int links = 0;
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    CountChainLink(&links);
    std::string op = Next().value;
    BinOp b = op == "*" ? BinOp::kMul
                        : (op == "/" ? BinOp::kDiv : (op == "//" ? BinOp::kFloorDiv : BinOp::kMod));
    left = Binary(b, std::move(left), ParsePow(), line);
    line = Cur().line;
  }
  return left;
}

ExprPtr Parser::ParsePow() {
  int line = Cur().line;
  ExprPtr left = ParseUnary(true);
  int links = 0;
  while (SkipOp("**")) {
    CountChainLink(&links);
    left = Binary(BinOp::kPow, std::move(left), ParseUnary(true), line);
    line = Cur().line;
  }
  return left;
}

ExprPtr Parser::ParseUnary(bool with_filter) {
  DepthGuard guard(this);
  int line = Cur().line;
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    bool neg = Next().value == "-";
    node = NewExpr(neg ? ExprKind::kNeg : ExprKind::kPos, line);
    node->a = ParseUnary(false);
  } else {
    node = ParsePrimary();
  }
  node = ParsePostfix(std::move(node));
  if (with_filter) node = ParseFilterExpr(std::move(node));
  return node;
}

ExprPtr Parser::ParsePrimary() {
  const Token& t = Cur();
  int line = t.line;
  if (t.type == TokenType::kName) {
    std::string v = Next().value;
    if (v == "true" || v == "True" || v == "false" || v == "False") {
      auto e = NewExpr(ExprKind::kConst, line);
      e->constant = Value::Bool(v == "true" || v == "True");
      return e;
    }
    if (v == "none" || v == "None") {
      auto e = NewExpr(ExprKind::kConst, line);
      e->constant = Value::None();
      return e;
    }
    for (std::set<std::string>* sink : name_sinks_) sink->insert(v);
    auto e = NewExpr(ExprKind::kName, line);
    e->name = v;
    return e;
  }
  if (t.type == TokenType::kString) {
    std::string buf;
    while (Cur().type == TokenType::kString) buf += Next().value;  // adjacent literals join
    auto e = NewExpr(ExprKind::kConst, line);
    e->constant = Value::String(std::move(buf));
    return e;
  }
  if (t.type == TokenType::kInteger || t.type == TokenType::kFloat) {
    auto e = NewExpr(ExprKind::kConst, line);
    e->constant =
        t.type == TokenType::kInteger ? Value::Int(t.int_value) : Value::Float(t.float_value);
    Next();
    return e;
  }
  if (IsOp("(")) {
    Next();
    ExprPtr e = ParseTuple(false, true, {}, true);
    ExpectOp(")");
    return e;
  }
  if (IsOp("[")) {
    Next();
    auto e = NewExpr(ExprKind::kList, line);
    while (!IsOp("]")) {
      if (!e->items.empty()) ExpectOp(",");
      if (IsOp("]")) break;
      e->items.push_back(ParseExpression(true));
    }
    ExpectOp("]");
    return e;
  }
  if (IsOp("{")) {
    Next();
    auto e = NewExpr(ExprKind::kDict, line);
    while (!IsOp("}")) {
      if (!e->items.empty()) ExpectOp(",");
      if (IsOp("}")) break;
      e->items.push_back(ParseExpression(true));
      ExpectOp(":");
      e->values.push_back(ParseExpression(true));
    }
    ExpectOp("}");
    return e;
  }
  Fail("unexpected '" + DescribeToken(t) + "'");
}

ExprPtr Parser::ParsePostfix(ExprPtr node) {
  int links = 0;
  while (true) {
    CountChainLink(&links);
    if (IsOp(".") || IsOp("[")) {
      node = ParseSubscript(std::move(node));
    } else if (IsOp("(")) {
      node = ParseCall(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseFilterExpr(ExprPtr node) {
  int links = 0;
  while (true) {
    CountChainLink(&links);
    if (IsOp("|")) {
      node = ParseFilter(std::move(node), false);
    } else if (IsName("is")) {
      node = ParseTest(std::move(node));
    } else if (IsOp("(")) {
      node = ParseCall(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::ParseSubscript(ExprPtr node) {
  DepthGuard guard(this);
  const Token& t = Next();
  int line = t.line;
  if (t.value == ".") {
    const Token& attr = Cur();
    if (attr.type == TokenType::kName) {
      auto e = NewExpr(ExprKind::kGetAttr, line);
      e->a = std::move(node);
      e->name = Next().value;
      return e;
    }
    if (attr.type != TokenType::kInteger) Fail("expected name or number");
    auto e = NewExpr(ExprKind::kGetItem, line);
    e->a = std::move(node);
    e->b = NewExpr(ExprKind::kConst, line);
    e->b->constant = Value::Int(Next().int_value);
    return e;
  }
  // "["
  std::vector<ExprPtr> args;
  while (!IsOp("]")) {
    if (!args.empty()) ExpectOp(",");
    args.push_back(ParseSubscribed());
  }
  ExpectOp("]");
  auto e = NewExpr(ExprKind::kGetItem, line);
  e->a = std::move(node);
  if (args.size() == 1) {
    e->b = std::move(args[0]);
  } else {
    e->b = NewExpr(ExprKind::kTuple, line);
    e->b->items = std::move(args);
  }
  return e;
}

ExprPtr Parser::ParseSubscribed() {
  int line = Cur().line;
  ExprPtr start;
  if (IsOp(":")) {
    Next();
  } else {
    ExprPtr node = ParseExpression(true);
    if (!IsOp(":")) return node;
    Next();
    start = std::move(node);
  }
  auto slice = NewExpr(ExprKind::kSlice, line);
  slice->a = std::move(start);
  if (!IsOp(":") && !IsOp("]") && !IsOp(",")) slice->b = ParseExpression(true);
  if (SkipOp(":")) {
    if (!IsOp("]") && !IsOp(",")) slice->c = ParseExpression(true);
  }
  return slice;
}

void Parser::ParseCallArgs(CallSyntax* call) {
  int line = Cur().line;
  ExpectOp("(");
  bool require_comma = false;
  auto ensure = [&](bool ok) {
    if (!ok) Fail("invalid syntax for function call expression", line);
  };
  while (!IsOp(")")) {
    if (require_comma) {
      ExpectOp(",");
      if (IsOp(")")) break;
    }
    if (IsOp("*")) {
      ensure(!call->dyn_args && !call->dyn_kwargs);
      Next();
      call->dyn_args = ParseExpression(true);
    } else if (IsOp("**")) {
      ensure(!call->dyn_kwargs);
      Next();
      call->dyn_kwargs = ParseExpression(true);
    } else if (Cur().type == TokenType::kName && Look().type == TokenType::kOperator &&
               Look().value == "=") {
      ensure(!call->dyn_kwargs);
      std::string key = Next().value;
      Next();
      call->kwargs.emplace_back(key, ParseExpression(true));
    } else {
      ensure(!call->dyn_args && !call->dyn_kwargs && call->kwargs.empty());
      call->args.push_back(ParseExpression(true));
    }
    require_comma = true;
  }
  ExpectOp(")");
}

ExprPtr Parser::ParseFilter(ExprPtr node, bool start_inline) {
  int links = 0;
  while (IsOp("|") || start_inline) {
    CountChainLink(&links);
    DepthGuard guard(this);
    if (!start_inline) Next();
    int line = Cur().line;
    auto e = NewExpr(ExprKind::kFilter, line);
    e->name = ParseDottedName();
    e->filter = FindFilter(e->name);
    if (e->filter == nullptr && !soft_) Fail("No filter named '" + e->name + "'.", line);
    if (IsOp("(")) ParseCallArgs(&e->call);
    e->a = std::move(node);
    node = std::move(e);
    start_inline = false;
  }
  return node;
}

ExprPtr Parser::ParseTest(ExprPtr node) {
  DepthGuard guard(this);
  int line = Next().line;  // "is"
  bool negated = SkipName("not");
  auto e = NewExpr(ExprKind::kTest, line);
  e->name = ParseDottedName();
  e->test = FindTest(e->name);
  if (e->test == nullptr && !soft_) Fail("No test named '" + e->name + "'.", line);
  const Token& t = Cur();
  if (IsOp("(")) {
    ParseCallArgs(&e->call);
  } else if ((t.type == TokenType::kName || t.type == TokenType::kString ||
              t.type == TokenType::kInteger || t.type == TokenType::kFloat || IsOp("[") ||
              IsOp("{")) &&
             !IsName("else") && !IsName("or") && !IsName("and")) {
    if (IsName("is")) Fail("You cannot chain multiple tests with is");
    ExprPtr arg = ParsePrimary();
    e->call.args.push_back(ParsePostfix(std::move(arg)));
  }
  e->a = std::move(node);
  if (!negated) return e;
  auto n = NewExpr(ExprKind::kNot, line);
  n->a = std::move(e);
  return n;
}

}  // namespace r1d::tokenizer::jinja
