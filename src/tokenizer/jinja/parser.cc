#include "tokenizer/jinja/parser.h"

#include "tokenizer/jinja/parser_impl.h"

namespace r1d::tokenizer::jinja {

std::string DescribeToken(const Token& t) {
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

Body Parser::Subparse(const std::vector<const char*>& end_tokens) {
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

void Parser::FailEof(const std::vector<const char*>& end_tokens) {
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

StmtPtr Parser::ParseStatement() {
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

StmtPtr Parser::ParseFor() {
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

StmtPtr Parser::ParseIf() {
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

StmtPtr Parser::ParseSet() {
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

std::unique_ptr<MacroDef> Parser::ParseSignature(std::string name, int line, bool parse_signature) {
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

void Parser::ParseMacroBody(MacroDef* m, const char* end_tag) {
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

StmtPtr Parser::ParseWith() {
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

Body ParseTemplate(std::string_view source, const ParseOptions& options) {
  return Parser(Tokenize(source, options.lexer), options).Run();
}

}  // namespace r1d::tokenizer::jinja
