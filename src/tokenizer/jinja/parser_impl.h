#pragma once
// Internal to the parser: the Parser class, shared by parser.cc (template structure and
// statements) and parser_expr.cc (expressions). Jinja2's grammar, precedence and error messages.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace r1d::tokenizer::jinja {

// How Jinja2 names a token in messages ("end of print statement", "string", "+" ...).
std::string DescribeToken(const Token& t);

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ParseOptions& opts)
      : tokens_(std::move(tokens)), opts_(opts) {}

  Body Run() {
    Body body = Subparse({});
    if (Cur().type != TokenType::kEof) Fail("unexpected '" + DescribeToken(Cur()) + "'");
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
      Fail(std::string("expected token '") + op + "', got '" + DescribeToken(Cur()) + "'");
    }
  }
  void ExpectName(const char* name) {
    if (!SkipName(name)) {
      Fail(std::string("expected token '") + name + "', got '" + DescribeToken(Cur()) + "'");
    }
  }
  std::string ExpectAnyName() {
    if (Cur().type != TokenType::kName) {
      Fail("expected token 'name', got '" + DescribeToken(Cur()) + "'");
    }
    return Next().value;
  }
  void Expect(TokenType type) {
    if (Cur().type != type) {
      Token want;
      want.type = type;
      Fail("expected token '" + DescribeToken(want) + "', got '" + DescribeToken(Cur()) + "'");
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

  Body Subparse(const std::vector<const char*>& end_tokens);

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

  void FailEof(const std::vector<const char*>& end_tokens);

  StmtPtr NewStmt(StmtKind kind, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = line;
    return s;
  }

  StmtPtr ParseStatement();

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

  StmtPtr ParseFor();

  StmtPtr ParseIf();

  StmtPtr ParseSet();

  std::unique_ptr<MacroDef> ParseSignature(std::string name, int line, bool parse_signature);

  void ParseMacroBody(MacroDef* m, const char* end_tag);

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

  StmtPtr ParseWith();

  // ---- expressions ----------------------------------------------------------------------------
  ExprPtr ParseAssignTarget(bool with_tuple, bool with_namespace,
                            const std::vector<const char*>& extra_end);

  void CheckAssignable(const Expr& e, int line);

  ExprPtr ParsePrimaryTarget(bool with_namespace);

  ExprPtr ParseTupleSimplified(const std::vector<const char*>& extra_end, bool with_namespace);

  bool IsTupleEnd(const std::vector<const char*>& extra_end) const {
    if (Cur().type == TokenType::kVariableEnd || Cur().type == TokenType::kBlockEnd || IsOp(")")) {
      return true;
    }
    return AtEndToken(extra_end);
  }

  ExprPtr ParseTuple(bool /*simplified*/, bool with_condexpr,
                     const std::vector<const char*>& extra_end, bool explicit_parens);

  ExprPtr ParseExpression(bool with_condexpr) {
    DepthGuard guard(this);
    return with_condexpr ? ParseCondExpr() : ParseOr();
  }

  ExprPtr ParseCondExpr();

  ExprPtr ParseOr();

  ExprPtr ParseAnd();

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(this);
      auto e = NewExpr(ExprKind::kNot, Next().line);
      e->a = ParseNot();
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare();

  ExprPtr Binary(BinOp op, ExprPtr left, ExprPtr right, int line) {
    auto e = NewExpr(ExprKind::kBinary, line);
    e->bin_op = op;
    e->a = std::move(left);
    e->b = std::move(right);
    return e;
  }

  ExprPtr ParseMath1();

  ExprPtr ParseConcat() {
    int line = Cur().line;
    ExprPtr first = ParseMath2();
    if (!IsOp("~")) return first;
    auto e = NewExpr(ExprKind::kConcat, line);
    e->items.push_back(std::move(first));
    while (SkipOp("~")) e->items.push_back(ParseMath2());
    return e;
  }

  ExprPtr ParseMath2();

  ExprPtr ParsePow();

  ExprPtr ParseUnary(bool with_filter);

  ExprPtr ParsePrimary();

  ExprPtr ParsePostfix(ExprPtr node);

  ExprPtr ParseFilterExpr(ExprPtr node);

  ExprPtr ParseSubscript(ExprPtr node);

  ExprPtr ParseSubscribed();

  void ParseCallArgs(CallSyntax* call);

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

  ExprPtr ParseFilter(ExprPtr node, bool start_inline);

  ExprPtr ParseTest(ExprPtr node);

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

}  // namespace r1d::tokenizer::jinja
