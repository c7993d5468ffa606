#include "frontend/Parser.h"
#include "frontend/Lexer.h"

#include <optional>
#include <unordered_set>

namespace nabla {

using namespace ast;

namespace {

bool isOpenBracket(TokenKind k) {
  return k == TokenKind::LParen || k == TokenKind::LBracket || k == TokenKind::LBrace;
}
bool isCloseBracket(TokenKind k) {
  return k == TokenKind::RParen || k == TokenKind::RBracket || k == TokenKind::RBrace;
}
TokenKind closerFor(TokenKind open) {
  return open == TokenKind::LParen     ? TokenKind::RParen
         : open == TokenKind::LBracket ? TokenKind::RBracket
                                       : TokenKind::RBrace;
}

/// Bracket problems found before parsing, by the offset of the token at fault.
struct BracketScan {
  std::unordered_set<uint32_t> unclosed;   ///< opening brackets never closed
  std::unordered_set<uint32_t> badClosers; ///< closers that match nothing
};

/// Matches every bracket of the file and reports the unmatched ones. A closer
/// of the wrong kind closes the innermost open bracket and is reported once.
/// After an unterminated string, which swallows the closers on its line,
/// bracket problems are its consequence: they are recorded, not reported.
BracketScan scanBrackets(const SourceManager &sources, uint32_t file, DiagnosticEngine &diags) {
  struct Open {
    TokenKind kind;
    uint32_t offset;
    SourceLoc loc;
  };
  BracketScan scan;
  std::vector<Open> stack;
  bool afterOpenString = false;
  auto report = [&](SourceLoc loc, std::string message) {
    if (!afterOpenString)
      diags.report(Severity::Error, loc, std::move(message));
  };
  Lexer lexer(sources, file, nullptr);
  for (Token tok = lexer.next(); !tok.is(TokenKind::Eof); tok = lexer.next()) {
    if (tok.is(TokenKind::String) && tok.unterminated)
      afterOpenString = true;
    if (isOpenBracket(tok.kind)) {
      stack.push_back({tok.kind, tok.offset, tok.loc});
      continue;
    }
    if (!isCloseBracket(tok.kind))
      continue;
    if (stack.empty()) {
      report(tok.loc, fmt::format("unmatched {}", tokenKindName(tok.kind)));
      scan.badClosers.insert(tok.offset);
      continue;
    }
    if (closerFor(stack.back().kind) == tok.kind) {
      stack.pop_back();
      continue;
    }
    // A closer for a bracket further out: the ones in between are unclosed.
    size_t match = stack.size();
    for (size_t i = stack.size(); i-- > 0;)
      if (closerFor(stack[i].kind) == tok.kind) {
        match = i;
        break;
      }
    if (match < stack.size()) {
      for (size_t i = match + 1; i < stack.size(); ++i) {
        report(stack[i].loc,
               fmt::format("unclosed {}; expected a matching {}", tokenKindName(stack[i].kind),
                           tokenKindName(closerFor(stack[i].kind))));
        scan.unclosed.insert(stack[i].offset);
      }
      stack.resize(match);
      continue;
    }
    report(tok.loc, fmt::format("{} does not match {}", tokenKindName(tok.kind),
                                tokenKindName(stack.back().kind)));
    if (!afterOpenString)
      diags.note(stack.back().loc, "{} opened here", tokenKindName(stack.back().kind));
    scan.badClosers.insert(tok.offset);
    stack.pop_back();
  }
  for (const Open &open : stack) {
    report(open.loc, fmt::format("unclosed {}; expected a matching {}", tokenKindName(open.kind),
                                 tokenKindName(closerFor(open.kind))));
    scan.unclosed.insert(open.offset);
  }
  return scan;
}

class Parser {
public:
  Parser(const SourceManager &sources, uint32_t file, DiagnosticEngine &diags)
      : lexer_(sources, file, &diags), diags_(diags), file_(file) {
    brackets_ = scanBrackets(sources, file, diags);
  }

  std::unique_ptr<Module> run();

private:
  //===--- Token stream ---===//
  void advance();
  const Token &peekAhead();
  bool at(TokenKind k) const { return tok_.kind == k; }
  bool atStatementEnd(bool inBlock) const {
    return at(TokenKind::Newline) || at(TokenKind::Semicolon) || at(TokenKind::Eof) ||
           (inBlock && at(TokenKind::RBrace));
  }
  /// Consumes an expression bracket; newlines inside it do not end a statement.
  void openBracket();
  /// Consumes the closer of `open`, or reports what was found instead.
  bool closeBracket(const Token &open);

  //===--- Errors ---===//
  template <typename... Args>
  void error(const Token &at, fmt::format_string<Args...> format, Args &&...args);
  void synchronize(bool inBlock);

  //===--- Statements ---===//
  StmtPtr parseStatement();
  bool finishStatement(bool inBlock);
  std::optional<std::pair<std::string, SourceLoc>> parseName(std::string_view after);
  std::optional<TypeExpr> parseType();
  StmtPtr parseDef(SourceLoc loc);
  StmtPtr parseTrain(SourceLoc loc);
  /// How a `{ ... }` block ended.
  enum class BlockEnd {
    Closed,    ///< at its '}', every line parsed
    Failed,    ///< at its '}', some line had an error (reported)
    Abandoned, ///< its '{' is never closed (reported by the bracket scan)
  };
  /// Parses `{ ... }` of a def or train block, calling `item` for each line.
  template <typename ItemFn> BlockEnd parseBlock(const Token &lbrace, ItemFn item);
  /// Sets the statement state after a block; true if the statement is usable.
  bool blockSucceeded(BlockEnd end);

  //===--- Expressions ---===//
  ExprPtr parseExpr();
  ExprPtr parseComparison();
  ExprPtr parseAdditive();
  ExprPtr parseMultiplicative();
  ExprPtr parseUnary();
  ExprPtr parsePower();
  /// A primary followed by any number of indexes `[...]`.
  ExprPtr parsePostfix();
  ExprPtr parseIndex(ExprPtr base);
  ExprPtr parsePrimary();
  ExprPtr parseCall();
  ExprPtr parseList();
  ExprPtr parseRecord();
  ExprPtr makeBinary(const Token &op, BinaryOp kind, ExprPtr lhs, ExprPtr rhs);
  bool tooMany(size_t count, const Token &at, std::string_view what);
  /// Calls `entry` (which parses one entry and returns how many there are
  /// now, 0 after an error) for each comma-separated entry until `closer`,
  /// then consumes the closer of `open`. False after an error.
  template <typename EntryFn>
  bool parseEntries(const Token &open, TokenKind closer, std::string_view what, EntryFn entry);

  /// Counts recursion so that hostile nesting ends in an error, not a crash.
  struct DepthGuard {
    explicit DepthGuard(Parser &p) : p(p) { ++p.depth_; }
    ~DepthGuard() { --p.depth_; }
    bool exceeded() const { return p.depth_ > ParserLimits::kMaxNesting; }
    Parser &p;
  };

  Lexer lexer_;
  DiagnosticEngine &diags_;
  uint32_t file_;
  BracketScan brackets_;
  Token tok_;
  std::optional<Token> ahead_;
  unsigned nesting_ = 0; ///< open expression brackets around the current token
  unsigned depth_ = 0;   ///< recursion depth of the expression parser
  bool failed_ = false;  ///< the current statement has an error
  std::optional<uint32_t> unclosedInStatement_; ///< an unclosed bracket seen in it
  std::string statementName_;                   ///< the name the current top-level statement binds
};

void Parser::advance() {
  do {
    if (ahead_) {
      tok_ = std::move(*ahead_);
      ahead_.reset();
    } else {
      tok_ = lexer_.next();
    }
  } while (nesting_ > 0 && tok_.is(TokenKind::Newline));
}

const Token &Parser::peekAhead() {
  if (!ahead_) {
    Token t;
    do
      t = lexer_.next();
    while (nesting_ > 0 && t.is(TokenKind::Newline));
    ahead_ = std::move(t);
  }
  return *ahead_;
}

void Parser::openBracket() {
  if (brackets_.unclosed.count(tok_.offset) && !unclosedInStatement_)
    unclosedInStatement_ = tok_.offset;
  ++nesting_;
  advance();
}

bool Parser::closeBracket(const Token &open) {
  TokenKind closer = closerFor(open.kind);
  if (!at(closer)) {
    error(tok_, "expected {} to close the {} at {}:{}, found {}", tokenKindName(closer),
          tokenKindName(open.kind), open.loc.line, open.loc.col, describeToken(tok_));
    return false;
  }
  --nesting_;
  advance();
  return true;
}

template <typename... Args>
void Parser::error(const Token &at, fmt::format_string<Args...> format, Args &&...args) {
  if (failed_)
    return;
  failed_ = true;
  // Already diagnosed: a bad character, or a bracket problem found by the scan.
  if (at.is(TokenKind::Error) || unclosedInStatement_ || brackets_.badClosers.count(at.offset))
    return;
  diags_.error(at.loc, format, std::forward<Args>(args)...);
}

void Parser::synchronize(bool inBlock) {
  if (unclosedInStatement_) {
    // Nothing closes the bracket: resume on the line after the one it opened.
    lexer_.reset(lexer_.stateAfterLineOf(*unclosedInStatement_));
    ahead_.reset();
    nesting_ = 0;
    advance();
    return;
  }
  unsigned depth = nesting_;
  nesting_ = 0;
  while (!at(TokenKind::Eof)) {
    if (depth == 0 && (at(TokenKind::Newline) || at(TokenKind::Semicolon)))
      return;
    bool stray = brackets_.badClosers.count(tok_.offset) > 0;
    if (inBlock && depth == 0 && at(TokenKind::RBrace) && !stray)
      return;
    if (isOpenBracket(tok_.kind)) {
      if (brackets_.unclosed.count(tok_.offset)) {
        lexer_.reset(lexer_.stateAfterLineOf(tok_.offset));
        ahead_.reset();
        advance();
        return;
      }
      ++depth;
    } else if (isCloseBracket(tok_.kind) && !stray && depth > 0) {
      --depth;
    }
    advance();
  }
}

std::unique_ptr<Module> Parser::run() {
  auto module = std::make_unique<Module>();
  module->file = file_;
  advance();
  while (!at(TokenKind::Eof) && !diags_.limitReached()) {
    if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
      advance();
      continue;
    }
    failed_ = false;
    unclosedInStatement_.reset();
    statementName_.clear();
    StmtPtr stmt = parseStatement();
    if (stmt && finishStatement(/*inBlock=*/false))
      module->statements.push_back(std::move(stmt));
    else if (!statementName_.empty())
      module->brokenNames.push_back(statementName_);
    if (failed_)
      synchronize(/*inBlock=*/false);
  }
  return module;
}

bool Parser::finishStatement(bool inBlock) {
  if (failed_)
    return false;
  if (atStatementEnd(inBlock))
    return true;
  error(tok_, "expected a newline or ';' after the statement, found {}", describeToken(tok_));
  return false;
}

std::optional<std::pair<std::string, SourceLoc>> Parser::parseName(std::string_view after) {
  if (!at(TokenKind::Identifier)) {
    if (tok_.isKeyword())
      error(tok_, "expected a name after {}, found the keyword {}", after, describeToken(tok_));
    else
      error(tok_, "expected a name after {}, found {}", after, describeToken(tok_));
    return std::nullopt;
  }
  std::pair<std::string, SourceLoc> name{std::string(tok_.text), tok_.loc};
  if (statementName_.empty())
    statementName_ = name.first;
  advance();
  return name;
}

std::optional<TypeExpr> Parser::parseType() {
  TypeExpr type;
  type.loc = tok_.loc;
  if (at(TokenKind::Identifier)) {
    type.dtype = std::string(tok_.text);
    type.dtypeLoc = tok_.loc;
    advance();
  } else if (!at(TokenKind::LBracket)) {
    error(tok_, "expected a type such as f32[B, 784] or [784, 10], found {}", describeToken(tok_));
    return std::nullopt;
  }
  if (!at(TokenKind::LBracket))
    return type;
  type.hasDims = true;
  Token open = tok_;
  openBracket();
  while (!at(TokenKind::RBracket)) {
    ExprPtr dim = parseExpr();
    if (!dim)
      return std::nullopt;
    type.dims.push_back(std::move(dim));
    if (tooMany(type.dims.size(), tok_, "dimensions"))
      return std::nullopt;
    if (!at(TokenKind::Comma))
      break;
    advance();
  }
  if (!closeBracket(open))
    return std::nullopt;
  return type;
}

StmtPtr Parser::parseStatement() {
  Token first = tok_;
  SourceLoc loc = tok_.loc;
  switch (tok_.kind) {
  case TokenKind::KwInput:
  case TokenKind::KwParam: {
    bool isInput = at(TokenKind::KwInput);
    advance();
    auto name = parseName(isInput ? "'input'" : "'param'");
    if (!name)
      return nullptr;
    if (!at(TokenKind::Colon)) {
      error(tok_, "expected ':' and a type after the {} name, found {}",
            isInput ? "input" : "param", describeToken(tok_));
      return nullptr;
    }
    advance();
    auto type = parseType();
    if (!type)
      return nullptr;
    if (isInput)
      return std::make_unique<InputStmt>(loc, name->first, name->second, std::move(*type));
    ExprPtr init;
    if (at(TokenKind::Equal)) {
      advance();
      init = parseExpr();
      if (!init)
        return nullptr;
    }
    return std::make_unique<ParamStmt>(loc, name->first, name->second, std::move(*type),
                                       std::move(init));
  }
  case TokenKind::KwConst:
  case TokenKind::KwMetric: {
    bool isConst = at(TokenKind::KwConst);
    advance();
    auto name = parseName(isConst ? "'const'" : "'metric'");
    if (!name)
      return nullptr;
    if (!at(TokenKind::Equal)) {
      error(tok_, "expected '=' after '{}', found {}", name->first, describeToken(tok_));
      return nullptr;
    }
    advance();
    ExprPtr value = parseExpr();
    if (!value)
      return nullptr;
    if (isConst)
      return std::make_unique<ConstStmt>(loc, name->first, name->second, std::move(value));
    return std::make_unique<MetricStmt>(loc, name->first, name->second, std::move(value));
  }
  case TokenKind::KwOutput: {
    advance();
    auto name = parseName("'output'");
    if (!name)
      return nullptr;
    ExprPtr value;
    if (at(TokenKind::Equal)) {
      advance();
      value = parseExpr();
      if (!value)
        return nullptr;
    }
    return std::make_unique<OutputStmt>(loc, name->first, name->second, std::move(value));
  }
  case TokenKind::KwLoss: {
    advance();
    ExprPtr value = parseExpr();
    if (!value)
      return nullptr;
    return std::make_unique<LossStmt>(loc, std::move(value));
  }
  case TokenKind::KwDef: advance(); return parseDef(loc);
  case TokenKind::KwTrain: advance(); return parseTrain(loc);
  case TokenKind::KwReturn:
    error(tok_, "'return' is only allowed at the end of a def block");
    return nullptr;
  case TokenKind::Identifier: {
    std::string name(tok_.text);
    statementName_ = name;
    advance();
    if (!at(TokenKind::Equal)) {
      error(tok_, "expected '=' after '{}': a statement binds a name, found {}", name,
            describeToken(tok_));
      return nullptr;
    }
    advance();
    ExprPtr value = parseExpr();
    if (!value)
      return nullptr;
    return std::make_unique<AssignStmt>(loc, name, std::move(value));
  }
  default:
    error(first,
          "expected a statement (input, param, const, def, output, metric, loss, train, "
          "or NAME = EXPR), found {}",
          describeToken(first));
    return nullptr;
  }
}

template <typename ItemFn> Parser::BlockEnd Parser::parseBlock(const Token &lbrace, ItemFn item) {
  bool unclosed = brackets_.unclosed.count(lbrace.offset) > 0;
  bool ok = true;
  bool done = false; // a def block's return was seen
  for (;;) {
    if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
      advance();
      continue;
    }
    if (at(TokenKind::RBrace)) {
      advance();
      return ok ? BlockEnd::Closed : BlockEnd::Failed;
    }
    if (at(TokenKind::Eof) || diags_.limitReached())
      return BlockEnd::Abandoned; // an unclosed '{', already reported
    // Without its '}', the block ends where top-level statements resume.
    if (unclosed && (done || (tok_.isKeyword() && !at(TokenKind::KwReturn))))
      return BlockEnd::Abandoned;
    failed_ = false;
    unclosedInStatement_.reset();
    item(done);
    if (!failed_)
      finishStatement(/*inBlock=*/true);
    if (failed_) {
      ok = false;
      synchronize(/*inBlock=*/true);
    }
  }
}

bool Parser::blockSucceeded(BlockEnd end) {
  // A failed block already reported its errors and consumed its '}': the
  // statement is dropped, and resynchronizing skips what follows the '}'.
  // An abandoned block stops where the next statement starts: no resync.
  failed_ = end == BlockEnd::Failed;
  unclosedInStatement_.reset();
  return end == BlockEnd::Closed;
}

StmtPtr Parser::parseDef(SourceLoc loc) {
  auto name = parseName("'def'");
  if (!name)
    return nullptr;
  if (!at(TokenKind::LParen)) {
    error(tok_, "expected '(' and the parameter list after 'def {}', found {}", name->first,
          describeToken(tok_));
    return nullptr;
  }
  Token open = tok_;
  openBracket();
  std::vector<DefParam> params;
  while (at(TokenKind::Identifier)) {
    params.push_back({std::string(tok_.text), tok_.loc});
    advance();
    if (tooMany(params.size(), tok_, "parameters"))
      return nullptr;
    if (!at(TokenKind::Comma))
      break;
    advance();
  }
  if (!at(TokenKind::RParen) && !failed_) {
    error(tok_, "expected a parameter name or ')' in the parameter list of '{}', found {}",
          name->first, describeToken(tok_));
    return nullptr;
  }
  if (!closeBracket(open))
    return nullptr;

  if (at(TokenKind::Equal)) {
    SourceLoc eqLoc = tok_.loc;
    advance();
    ExprPtr body = parseExpr();
    if (!body)
      return nullptr;
    return std::make_unique<DefStmt>(loc, name->first, name->second, std::move(params),
                                     std::vector<std::unique_ptr<AssignStmt>>{}, std::move(body),
                                     eqLoc, /*isBlock=*/false);
  }
  if (!at(TokenKind::LBrace)) {
    error(tok_, "expected '= EXPR' or a '{{' block after 'def {}(...)', found {}", name->first,
          describeToken(tok_));
    return nullptr;
  }
  Token lbrace = tok_;
  advance();
  std::vector<std::unique_ptr<AssignStmt>> locals;
  ExprPtr result;
  SourceLoc returnLoc;
  BlockEnd end = parseBlock(lbrace, [&](bool &done) {
    if (done) {
      error(tok_, "unexpected {} after 'return': the return ends a def block", describeToken(tok_));
      return;
    }
    if (at(TokenKind::KwReturn)) {
      returnLoc = tok_.loc;
      advance();
      result = parseExpr();
      done = result != nullptr;
      return;
    }
    if (!at(TokenKind::Identifier) || peekAhead().kind != TokenKind::Equal) {
      error(tok_, "expected 'NAME = EXPR' or 'return EXPR' in the body of '{}', found {}",
            name->first, describeToken(tok_));
      return;
    }
    SourceLoc localLoc = tok_.loc;
    std::string localName(tok_.text);
    advance();
    advance(); // '='
    if (ExprPtr value = parseExpr())
      locals.push_back(std::make_unique<AssignStmt>(localLoc, localName, std::move(value)));
  });
  if (!blockSucceeded(end))
    return nullptr;
  if (!result) {
    // parseBlock consumed the '}': point at the block's start.
    diags_.error(lbrace.loc,
                 "the body of '{}' has no 'return': a def block ends with 'return EXPR'",
                 name->first);
    failed_ = true;
    return nullptr;
  }
  return std::make_unique<DefStmt>(loc, name->first, name->second, std::move(params),
                                   std::move(locals), std::move(result), returnLoc,
                                   /*isBlock=*/true);
}

StmtPtr Parser::parseTrain(SourceLoc loc) {
  if (!at(TokenKind::LBrace)) {
    error(tok_, "expected '{{' after 'train', found {}", describeToken(tok_));
    return nullptr;
  }
  Token lbrace = tok_;
  advance();
  std::vector<TrainEntry> entries;
  BlockEnd end = parseBlock(lbrace, [&](bool &) {
    if (!at(TokenKind::Identifier) || peekAhead().kind != TokenKind::Equal) {
      error(tok_, "expected 'KEY = VALUE' in the train block, found {}", describeToken(tok_));
      return;
    }
    TrainEntry entry{std::string(tok_.text), tok_.loc, nullptr};
    advance();
    advance(); // '='
    entry.value = parseExpr();
    if (entry.value)
      entries.push_back(std::move(entry));
  });
  if (!blockSucceeded(end))
    return nullptr;
  return std::make_unique<TrainStmt>(loc, std::move(entries));
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

template <typename EntryFn>
bool Parser::parseEntries(const Token &open, TokenKind closer, std::string_view what,
                          EntryFn entry) {
  while (!at(closer)) {
    size_t count = entry();
    if (count == 0 || tooMany(count, tok_, what))
      return false;
    if (!at(TokenKind::Comma))
      break;
    advance();
  }
  return closeBracket(open);
}

bool Parser::tooMany(size_t count, const Token &at, std::string_view what) {
  if (count <= ParserLimits::kMaxElements)
    return false;
  error(at, "too many {} (the limit is {})", what, ParserLimits::kMaxElements);
  return true;
}

ExprPtr Parser::makeBinary(const Token &op, BinaryOp kind, ExprPtr lhs, ExprPtr rhs) {
  auto e = std::make_unique<BinaryExpr>(op.loc, kind, std::move(lhs), std::move(rhs));
  if (e->height() > ParserLimits::kMaxExprHeight) {
    error(op, "expression is too long or too deeply nested (more than {} levels)",
          ParserLimits::kMaxExprHeight);
    return nullptr;
  }
  return e;
}

ExprPtr Parser::parseExpr() {
  DepthGuard guard(*this);
  if (guard.exceeded()) {
    error(tok_, "expression is nested too deeply (more than {} levels)", ParserLimits::kMaxNesting);
    return nullptr;
  }
  return parseComparison();
}

ExprPtr Parser::parseComparison() {
  ExprPtr lhs = parseAdditive();
  if (!lhs)
    return nullptr;
  auto comparison = [](TokenKind k) -> std::optional<BinaryOp> {
    switch (k) {
    case TokenKind::EqualEqual: return BinaryOp::Eq;
    case TokenKind::NotEqual: return BinaryOp::Ne;
    case TokenKind::Less: return BinaryOp::Lt;
    case TokenKind::LessEqual: return BinaryOp::Le;
    case TokenKind::Greater: return BinaryOp::Gt;
    case TokenKind::GreaterEqual: return BinaryOp::Ge;
    default: return std::nullopt;
    }
  };
  auto op = comparison(tok_.kind);
  if (!op)
    return lhs;
  Token opTok = tok_;
  advance();
  ExprPtr rhs = parseAdditive();
  if (!rhs)
    return nullptr;
  if (comparison(tok_.kind)) {
    error(tok_, "comparisons cannot be chained; use parentheses, e.g. (a < b) == c");
    return nullptr;
  }
  return makeBinary(opTok, *op, std::move(lhs), std::move(rhs));
}

ExprPtr Parser::parseAdditive() {
  ExprPtr lhs = parseMultiplicative();
  while (lhs && (at(TokenKind::Plus) || at(TokenKind::Minus))) {
    Token opTok = tok_;
    advance();
    ExprPtr rhs = parseMultiplicative();
    if (!rhs)
      return nullptr;
    lhs = makeBinary(opTok, opTok.is(TokenKind::Plus) ? BinaryOp::Add : BinaryOp::Sub,
                     std::move(lhs), std::move(rhs));
  }
  return lhs;
}

ExprPtr Parser::parseMultiplicative() {
  ExprPtr lhs = parseUnary();
  while (lhs && (at(TokenKind::Star) || at(TokenKind::Slash) || at(TokenKind::At))) {
    Token opTok = tok_;
    advance();
    ExprPtr rhs = parseUnary();
    if (!rhs)
      return nullptr;
    BinaryOp op = opTok.is(TokenKind::Star)    ? BinaryOp::Mul
                  : opTok.is(TokenKind::Slash) ? BinaryOp::Div
                                               : BinaryOp::MatMul;
    lhs = makeBinary(opTok, op, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (at(TokenKind::Minus)) {
    DepthGuard guard(*this);
    if (guard.exceeded()) {
      error(tok_, "expression is nested too deeply (more than {} levels)",
            ParserLimits::kMaxNesting);
      return nullptr;
    }
    SourceLoc loc = tok_.loc;
    advance();
    ExprPtr operand = parseUnary();
    if (!operand)
      return nullptr;
    return std::make_unique<UnaryExpr>(loc, UnaryOp::Neg, std::move(operand));
  }
  if (at(TokenKind::Plus)) {
    error(tok_, "unary '+' is not supported; write the operand alone");
    return nullptr;
  }
  return parsePower();
}

ExprPtr Parser::parsePower() {
  ExprPtr base = parsePostfix();
  if (!base || !at(TokenKind::StarStar))
    return base;
  Token opTok = tok_;
  DepthGuard guard(*this);
  if (guard.exceeded()) {
    error(tok_, "expression is nested too deeply (more than {} levels)", ParserLimits::kMaxNesting);
    return nullptr;
  }
  advance();
  // Right-associative, and the exponent may carry a sign: a ** -b ** c.
  ExprPtr exponent = parseUnary();
  if (!exponent)
    return nullptr;
  return makeBinary(opTok, BinaryOp::Pow, std::move(base), std::move(exponent));
}

ExprPtr Parser::parsePostfix() {
  ExprPtr e = parsePrimary();
  while (e && at(TokenKind::LBracket))
    e = parseIndex(std::move(e));
  return e;
}

ExprPtr Parser::parseIndex(ExprPtr base) {
  Token open = tok_;
  openBracket();
  std::vector<IndexItem> items;
  uint32_t height = base->height() + 1;
  auto bound = [&](ExprPtr &out) {
    out = parseExpr();
    if (out)
      height = std::max(height, out->height() + 1);
    return out != nullptr;
  };
  bool ok = parseEntries(open, TokenKind::RBracket, "indices", [&]() -> size_t {
    IndexItem item;
    item.loc = tok_.loc;
    if (at(TokenKind::Ellipsis)) {
      item.kind = IndexItem::Kind::Ellipsis;
      advance();
    } else {
      if (!at(TokenKind::Colon) && !bound(item.integer))
        return 0;
      if (at(TokenKind::Colon)) { // lo:hi, either side optional
        item.kind = IndexItem::Kind::Slice;
        item.lo = std::move(item.integer);
        advance();
        if (!at(TokenKind::Comma) && !at(TokenKind::RBracket) && !bound(item.hi))
          return 0;
      }
    }
    items.push_back(std::move(item));
    return items.size();
  });
  if (!ok)
    return nullptr;
  if (items.empty()) {
    error(open, "an index needs at least one entry, as in x[0] or x[:, 1:3]");
    return nullptr;
  }
  if (height > ParserLimits::kMaxExprHeight) {
    error(open, "expression is too long or too deeply nested (more than {} levels)",
          ParserLimits::kMaxExprHeight);
    return nullptr;
  }
  return std::make_unique<IndexExpr>(open.loc, std::move(base), std::move(items), height);
}

ExprPtr Parser::parsePrimary() {
  switch (tok_.kind) {
  case TokenKind::Number: {
    auto e =
        std::make_unique<NumberExpr>(tok_.loc, tok_.number, tok_.isInteger, std::string(tok_.text));
    advance();
    return e;
  }
  case TokenKind::String: {
    auto e = std::make_unique<StringExpr>(tok_.loc, tok_.stringValue);
    advance();
    return e;
  }
  case TokenKind::Identifier: {
    if (peekAhead().kind == TokenKind::LParen)
      return parseCall();
    auto e = std::make_unique<NameExpr>(tok_.loc, std::string(tok_.text));
    advance();
    return e;
  }
  case TokenKind::LParen: {
    Token open = tok_;
    openBracket();
    ExprPtr inner = parseExpr();
    if (!inner || !closeBracket(open))
      return nullptr;
    return inner;
  }
  case TokenKind::LBracket: return parseList();
  case TokenKind::LBrace: return parseRecord();
  default:
    if (tok_.isKeyword())
      error(tok_, "expected an expression, found the keyword {}", describeToken(tok_));
    else
      error(tok_, "expected an expression, found {}", describeToken(tok_));
    return nullptr;
  }
}

ExprPtr Parser::parseCall() {
  SourceLoc loc = tok_.loc;
  std::string callee(tok_.text);
  advance();
  Token open = tok_;
  openBracket();
  std::vector<Argument> args;
  uint32_t height = 1;
  bool sawKeyword = false;
  bool ok = parseEntries(open, TokenKind::RParen, "arguments", [&]() -> size_t {
    Argument arg;
    if (at(TokenKind::Identifier) && peekAhead().kind == TokenKind::Equal) {
      arg.name = std::string(tok_.text);
      arg.nameLoc = tok_.loc;
      sawKeyword = true;
      advance();
      advance(); // '='
    } else if (sawKeyword) {
      error(tok_, "positional argument after a keyword argument in the call to '{}'", callee);
      return 0;
    }
    arg.value = parseExpr();
    if (!arg.value)
      return 0;
    height = std::max(height, arg.value->height() + 1);
    args.push_back(std::move(arg));
    return args.size();
  });
  if (!ok)
    return nullptr;
  return std::make_unique<CallExpr>(loc, std::move(callee), std::move(args), height);
}

ExprPtr Parser::parseList() {
  Token open = tok_;
  openBracket();
  std::vector<ExprPtr> elements;
  uint32_t height = 1;
  bool ok = parseEntries(open, TokenKind::RBracket, "list elements", [&]() -> size_t {
    ExprPtr e = parseExpr();
    if (!e)
      return 0;
    height = std::max(height, e->height() + 1);
    elements.push_back(std::move(e));
    return elements.size();
  });
  if (!ok)
    return nullptr;
  return std::make_unique<ListExpr>(open.loc, std::move(elements), height);
}

ExprPtr Parser::parseRecord() {
  Token open = tok_;
  openBracket();
  std::vector<RecordField> fields;
  uint32_t height = 1;
  bool ok = parseEntries(open, TokenKind::RBrace, "record fields", [&]() -> size_t {
    if (!at(TokenKind::Identifier)) {
      error(tok_, "expected a field name in the record, found {}", describeToken(tok_));
      return 0;
    }
    RecordField field{std::string(tok_.text), tok_.loc, nullptr};
    advance();
    if (!at(TokenKind::Colon)) {
      error(tok_, "expected ':' after the field name '{}', found {}", field.name,
            describeToken(tok_));
      return 0;
    }
    advance();
    field.value = parseExpr();
    if (!field.value)
      return 0;
    height = std::max(height, field.value->height() + 1);
    fields.push_back(std::move(field));
    return fields.size();
  });
  if (!ok)
    return nullptr;
  return std::make_unique<RecordExpr>(open.loc, std::move(fields), height);
}

} // namespace

std::unique_ptr<Module> parseModule(const SourceManager &sources, uint32_t file,
                                    DiagnosticEngine &diags) {
  return Parser(sources, file, diags).run();
}

} // namespace nabla
