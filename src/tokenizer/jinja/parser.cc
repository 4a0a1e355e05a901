#include "tokenizer/jinja/parser.h"

#include <set>

#include "tokenizer/jinja/error.h"

namespace r1d::tokenizer::jinja {
namespace {

std::string Describe(const Token& t) {
  switch (t.type) {
    case TokenType::kData:
      return "template data";
    case TokenType::kVariableBegin:
      return "begin of print statement";
    case TokenType::kVariableEnd:
      return "end of print statement";
    case TokenType::kBlockBegin:
      return "begin of statement block";
    case TokenType::kBlockEnd:
      return "end of statement block";
    case TokenType::kString:
      return "string";
    case TokenType::kInteger:
      return "integer";
    case TokenType::kFloat:
      return "float";
    case TokenType::kEof:
      return "end of template";
    default:
      return t.value;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ParseOptions& opts)
      : tokens_(std::move(tokens)), opts_(opts) {}

  Body Run() {
    Body body = Subparse({});
    if (Cur().type != TokenType::kEof) Fail("unexpected '" + Describe(Cur()) + "'");
    return body;
  }

 private:
  // ---- token stream ---------------------------------------------------------------------------
  const Token& Cur() const { return tokens_[pos_]; }
  const Token& Look() const { return tokens_[std::min(pos_ + 1, tokens_.size() - 1)]; }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsOp(const char* op) const {
    return Cur().type == TokenType::kOperator && Cur().value == op;
  }
  bool IsName(const char* name) const {
    return Cur().type == TokenType::kName && Cur().value == name;
  }
  bool SkipOp(const char* op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(const char* name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }
  [[noreturn]] void Fail(const std::string& message, int line = 0) {
    ThrowSyntax(message, line > 0 ? line : Cur().line);
  }
  void ExpectOp(const char* op) {
    if (!SkipOp(op)) {
      Fail(std::string("expected token '") + op + "', got '" + Describe(Cur()) + "'");
    }
  }
  void ExpectName(const char* name) {
    if (!SkipName(name)) {
      Fail(std::string("expected token '") + name + "', got '" + Describe(Cur()) + "'");
    }
  }
  std::string ExpectAnyName() {
    if (Cur().type != TokenType::kName) {
      Fail("expected token 'name', got '" + Describe(Cur()) + "'");
    }
    return Next().value;
  }
  void Expect(TokenType type) {
    if (Cur().type != type) {
      Token want;
      want.type = type;
      Fail("expected token '" + Describe(want) + "', got '" + Describe(Cur()) + "'");
    }
    Next();
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : parser(p) {
      if (++parser->depth_ > parser->opts_.max_nesting) {
        parser->Fail("template nesting too deep (more than " +
                     std::to_string(parser->opts_.max_nesting) + " levels)");
      }
    }
    ~DepthGuard() { --parser->depth_; }
    Parser* parser;
  };

  // Left-deep chains (a + b + c ..., x.a.b.c ..., x|f|g ...) are built by loops, not recursion;
  // their length is bounded too, because evaluating and freeing them recurses.
  void CountChainLink(int* links) {
    if (++*links > kMaxChainLength) {
      Fail("expression chain too long (more than " + std::to_string(kMaxChainLength) + " links)");
    }
  }
  static constexpr int kMaxChainLength = 1000;

  ExprPtr NewExpr(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // ---- statements -----------------------------------------------------------------------------
  bool AtEndToken(const std::vector<const char*>& end_tokens) const {
    if (Cur().type != TokenType::kName) return false;
    for (const char* t : end_tokens) {
      if (Cur().value == t) return true;
    }
    return false;
  }

  Body Subparse(const std::vector<const char*>& end_tokens) {
    // Remembered so an unexpected tag can say which closing tags would fit here.
    struct EndTokens {
      EndTokens(Parser* p, const std::vector<const char*>* t) : parser(p) {
        parser->end_token_stack_.push_back(t);
      }
      ~EndTokens() { parser->end_token_stack_.pop_back(); }
      Parser* parser;
    } remember(this, &end_tokens);
    Body body;
    while (Cur().type != TokenType::kEof) {
      const Token& t = Cur();
      if (t.type == TokenType::kData) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kData;
        s->line = t.line;
        s->text = t.value;
        body.push_back(std::move(s));
        Next();
      } else if (t.type == TokenType::kVariableBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = t.line;
        Next();
        s->exprs.push_back(ParseTuple(false, true, {}, false));
        Expect(TokenType::kVariableEnd);
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        Next();
        if (!end_tokens.empty() && AtEndToken(end_tokens)) return body;
        body.push_back(ParseStatement());
        Expect(TokenType::kBlockEnd);
      } else {
        Fail("internal parser error: unexpected token");
      }
    }
    return body;
  }

  // The body of a block statement: expects the end of the opening tag, parses until one of
  // end_tokens, and (drop_needle) consumes that end token's name.
  Body ParseStatements(const std::vector<const char*>& end_tokens, bool drop_needle) {
    SkipOp(":");
    Expect(TokenType::kBlockEnd);
    Body body = Subparse(end_tokens);
    if (Cur().type == TokenType::kEof) FailEof(end_tokens);
    if (drop_needle) Next();
    return body;
  }

  void FailEof(const std::vector<const char*>& end_tokens) {
    std::string msg = "Unexpected end of template.";
    if (!end_tokens.empty()) {
      msg += " Jinja was looking for the following tags: ";
      for (size_t i = 0; i < end_tokens.size(); ++i) {
        if (i > 0) msg += " or ";
        msg += std::string("'") + end_tokens[i] + "'";
      }
      msg += ".";
    }
    if (!tag_stack_.empty()) {
      msg += " The innermost block that needs to be closed is '" + tag_stack_.back().first +
             "' (opened at line " + std::to_string(tag_stack_.back().second) + ").";
    }
    Fail(msg);
  }

  StmtPtr NewStmt(StmtKind kind, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = line;
    return s;
  }

  StmtPtr ParseStatement() {
    DepthGuard guard(this);
    const Token& t = Cur();
    if (t.type != TokenType::kName) Fail("tag name expected");
    std::string tag = t.value;
    int line = t.line;
    static const std::set<std::string> kKnown = {
        "for", "if",   "block", "extends", "print", "macro",    "include",    "from",      "import",
        "set", "with", "call",  "filter",  "break", "continue", "generation", "autoescape"};
    if (kKnown.count(tag) == 0) {
      std::string msg = "Encountered unknown tag '" + tag + "'.";
      const std::vector<const char*>* wanted =
          end_token_stack_.empty() ? nullptr : end_token_stack_.back();
      if (wanted != nullptr && !wanted->empty()) {
        msg += " Jinja was looking for the following tags: ";
        for (size_t i = 0; i < wanted->size(); ++i) {
          if (i > 0) msg += " or ";
          msg += std::string("'") + (*wanted)[i] + "'";
        }
        msg += ".";
      }
      if (!tag_stack_.empty()) {
        msg += " The innermost block that needs to be closed is '" + tag_stack_.back().first +
               "' (opened at line " + std::to_string(tag_stack_.back().second) + ").";
      }
      Fail(msg, line);
    }
    tag_stack_.emplace_back(tag, line);
    StmtPtr s;
    if (tag == "for") {
      s = ParseFor();
    } else if (tag == "if") {
      s = ParseIf();
    } else if (tag == "set") {
      s = ParseSet();
    } else if (tag == "macro") {
      s = ParseMacro();
    } else if (tag == "call") {
      s = ParseCallBlock();
    } else if (tag == "filter") {
      s = ParseFilterBlock();
    } else if (tag == "with") {
      s = ParseWith();
    } else if (tag == "print") {
      Next();
      s = NewStmt(StmtKind::kOutput, line);
      while (Cur().type != TokenType::kBlockEnd) {
        if (!s->exprs.empty()) ExpectOp(",");
        s->exprs.push_back(ParseExpression(true));
      }
    } else if (tag == "break" || tag == "continue") {
      Next();
      if (loop_depth_ == 0) Fail("'" + tag + "' outside of a loop", line);
      s = NewStmt(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue, line);
    } else if (tag == "block" || tag == "generation") {
      Next();
      s = NewStmt(StmtKind::kScope, line);
      if (tag == "block") {
        std::string name = ExpectAnyName();
        SkipName("scoped");
        SkipName("required");
        s->body = ParseStatements({"endblock"}, true);
        SkipName(name.c_str());
      } else {
        s->body = ParseStatements({"endgeneration"}, true);
      }
    } else {
      // extends / include / import / from / autoescape: parse loosely, fail when executed.
      Next();
      s = NewStmt(StmtKind::kUnsupported, line);
      s->text = tag;
      while (Cur().type != TokenType::kBlockEnd && Cur().type != TokenType::kEof) Next();
      if (tag == "autoescape") s->body = ParseStatements({"endautoescape"}, true);
    }
    tag_stack_.pop_back();
    return s;
  }

  struct SoftScope {  // unknown filters/tests are runtime errors inside if/condexpr only
    SoftScope(Parser* p, bool soft) : parser(p), saved(p->soft_) { parser->soft_ = soft; }
    ~SoftScope() { parser->soft_ = saved; }
    Parser* parser;
    bool saved;
  };
  struct LoopScope {
    LoopScope(Parser* p, int depth) : parser(p), saved(p->loop_depth_) {
      parser->loop_depth_ = depth;
    }
    ~LoopScope() { parser->loop_depth_ = saved; }
    Parser* parser;
    int saved;
  };

  StmtPtr ParseFor() {
    auto s = NewStmt(StmtKind::kFor, Next().line);
    SoftScope strict(this, false);
    s->target = ParseAssignTarget(true, false, {"in"});
    ExpectName("in");
    s->iter = ParseTuple(false, false, {"recursive"}, false);
    if (SkipName("if")) s->cond = ParseExpression(true);
    s->recursive = SkipName("recursive");
    {
      LoopScope loop(this, loop_depth_ + 1);
      s->body = ParseStatements({"endfor", "else"}, false);
    }
    if (Next().value == "else") s->else_body = ParseStatements({"endfor"}, true);
    return s;
  }

  StmtPtr ParseIf() {
    auto s = NewStmt(StmtKind::kIf, Next().line);
    SoftScope soft(this, true);
    while (true) {
      s->conds.push_back(ParseTuple(false, false, {}, false));
      s->bodies.push_back(ParseStatements({"elif", "else", "endif"}, false));
      const Token& t = Next();
      if (t.value == "elif") continue;
      if (t.value == "else") s->else_body = ParseStatements({"endif"}, true);
      break;
    }
    return s;
  }

  StmtPtr ParseSet() {
    int line = Next().line;
    ExprPtr target = ParseAssignTarget(true, true, {});
    if (SkipOp("=")) {
      auto s = NewStmt(StmtKind::kSet, line);
      s->target = std::move(target);
      s->value = ParseTuple(false, true, {}, false);
      return s;
    }
    auto s = NewStmt(StmtKind::kSetBlock, line);
    s->target = std::move(target);
    SoftScope strict(this, false);
    if (IsOp("|")) s->filter = ParseFilter(nullptr, false);
    s->body = ParseStatements({"endset"}, true);
    return s;
  }

  std::unique_ptr<MacroDef> ParseSignature(std::string name, int line, bool parse_signature) {
    auto m = std::make_unique<MacroDef>();
    m->name = std::move(name);
    m->line = line;
    if (parse_signature) {
      ExpectOp("(");
      while (!IsOp(")")) {
        if (!m->params.empty()) ExpectOp(",");
        m->params.push_back(ExpectAnyName());
        if (SkipOp("=")) {
          m->defaults.push_back(ParseExpression(true));
        } else if (!m->defaults.empty()) {
          Fail("non-default argument follows default argument");
        }
      }
      ExpectOp(")");
    }
    return m;
  }

  void ParseMacroBody(MacroDef* m, const char* end_tag) {
    std::set<std::string> names;
    name_sinks_.push_back(&names);
    SoftScope strict(this, false);
    LoopScope no_loop(this, 0);
    m->body = ParseStatements({end_tag}, true);
    name_sinks_.pop_back();
    m->caller = names.count("caller") > 0;
    m->catch_kwargs = names.count("kwargs") > 0;
    m->catch_varargs = names.count("varargs") > 0;
  }

  StmtPtr ParseMacro() {
    int line = Next().line;
    auto s = NewStmt(StmtKind::kMacro, line);
    std::string name = ExpectAnyName();
    s->macro = ParseSignature(name, line, true);
    ParseMacroBody(s->macro.get(), "endmacro");
    return s;
  }

  StmtPtr ParseCallBlock() {
    int line = Next().line;
    auto s = NewStmt(StmtKind::kCallBlock, line);
    s->macro = ParseSignature("caller", line, IsOp("("));
    s->value = ParseExpression(true);
    if (s->value->kind != ExprKind::kCall) Fail("expected call", line);
    ParseMacroBody(s->macro.get(), "endcall");
    return s;
  }

  StmtPtr ParseFilterBlock() {
    int line = Next().line;
    auto s = NewStmt(StmtKind::kFilterBlock, line);
    SoftScope strict(this, false);
    s->filter = ParseFilter(nullptr, true);
    s->body = ParseStatements({"endfilter"}, true);
    return s;
  }

  StmtPtr ParseWith() {
    int line = Next().line;
    auto s = NewStmt(StmtKind::kWith, line);
    while (Cur().type != TokenType::kBlockEnd) {
      if (!s->exprs.empty()) ExpectOp(",");
      s->exprs.push_back(ParseAssignTarget(true, false, {}));
      ExpectOp("=");
      s->values.push_back(ParseExpression(true));
    }
    SoftScope strict(this, false);
    s->body = ParseStatements({"endwith"}, true);
    return s;
  }

  // ---- expressions ----------------------------------------------------------------------------
  ExprPtr ParseAssignTarget(bool with_tuple, bool with_namespace,
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

  void CheckAssignable(const Expr& e, int line) {
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

  ExprPtr ParsePrimaryTarget(bool with_namespace) {
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
    Fail("can't assign to '" + Describe(t) + "'");
  }

  ExprPtr ParseTupleSimplified(const std::vector<const char*>& extra_end, bool with_namespace) {
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
      if (items.empty()) Fail("expected an assignment target, got '" + Describe(Cur()) + "'");
      return std::move(items[0]);
    }
    auto e = NewExpr(ExprKind::kTuple, line);
    e->items = std::move(items);
    return e;
  }

  bool IsTupleEnd(const std::vector<const char*>& extra_end) const {
    if (Cur().type == TokenType::kVariableEnd || Cur().type == TokenType::kBlockEnd || IsOp(")")) {
      return true;
    }
    return AtEndToken(extra_end);
  }

  ExprPtr ParseTuple(bool /*simplified*/, bool with_condexpr,
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
      if (!explicit_parens) Fail("Expected an expression, got '" + Describe(Cur()) + "'");
    }
    auto e = NewExpr(ExprKind::kTuple, line);
    e->items = std::move(items);
    return e;
  }

  ExprPtr ParseExpression(bool with_condexpr) {
    DepthGuard guard(this);
    return with_condexpr ? ParseCondExpr() : ParseOr();
  }

  ExprPtr ParseCondExpr() {
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

  ExprPtr ParseOr() {
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

  ExprPtr ParseAnd() {
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

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(this);
      auto e = NewExpr(ExprKind::kNot, Next().line);
      e->a = ParseNot();
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
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

  ExprPtr Binary(BinOp op, ExprPtr left, ExprPtr right, int line) {
    auto e = NewExpr(ExprKind::kBinary, line);
    e->bin_op = op;
    e->a = std::move(left);
    e->b = std::move(right);
    return e;
  }

  ExprPtr ParseMath1() {
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

  ExprPtr ParseConcat() {
    int line = Cur().line;
    ExprPtr first = ParseMath2();
    if (!IsOp("~")) return first;
    auto e = NewExpr(ExprKind::kConcat, line);
    e->items.push_back(std::move(first));
    while (SkipOp("~")) e->items.push_back(ParseMath2());
    return e;
  }

  ExprPtr ParseMath2() {
    int line = Cur().line;
    ExprPtr left = ParsePow();
    int links = 0;
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      CountChainLink(&links);
      std::string op = Next().value;
      BinOp b = op == "*"
                    ? BinOp::kMul
                    : (op == "/" ? BinOp::kDiv : (op == "//" ? BinOp::kFloorDiv : BinOp::kMod));
      left = Binary(b, std::move(left), ParsePow(), line);
      line = Cur().line;
    }
    return left;
  }

  ExprPtr ParsePow() {
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

  ExprPtr ParseUnary(bool with_filter) {
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

  ExprPtr ParsePrimary() {
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
    Fail("unexpected '" + Describe(t) + "'");
  }

  ExprPtr ParsePostfix(ExprPtr node) {
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

  ExprPtr ParseFilterExpr(ExprPtr node) {
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

  ExprPtr ParseSubscript(ExprPtr node) {
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

  ExprPtr ParseSubscribed() {
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

  void ParseCallArgs(CallSyntax* call) {
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

  ExprPtr ParseCall(ExprPtr node) {
    DepthGuard guard(this);
    auto e = NewExpr(ExprKind::kCall, Cur().line);
    e->a = std::move(node);
    ParseCallArgs(&e->call);
    return e;
  }

  std::string ParseDottedName() {
    std::string name = ExpectAnyName();
    while (IsOp(".")) {
      Next();
      name += "." + ExpectAnyName();
    }
    return name;
  }

  ExprPtr ParseFilter(ExprPtr node, bool start_inline) {
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

  ExprPtr ParseTest(ExprPtr node) {
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

  std::vector<Token> tokens_;
  ParseOptions opts_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  bool soft_ = false;
  std::vector<std::pair<std::string, int>> tag_stack_;
  std::vector<const std::vector<const char*>*> end_token_stack_;
  std::vector<std::set<std::string>*> name_sinks_;
};

}  // namespace

Body ParseTemplate(std::string_view source, const ParseOptions& options) {
  return Parser(Tokenize(source, options.lexer), options).Run();
}

}  // namespace r1d::tokenizer::jinja
