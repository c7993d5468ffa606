#include "frontend/Lexer.h"

#include <charconv>
#include <cmath>

namespace nabla {

namespace {
struct Keyword {
  std::string_view spelling;
  TokenKind kind;
};
constexpr Keyword kKeywords[] = {
    {"input", TokenKind::KwInput},   {"param", TokenKind::KwParam},
    {"const", TokenKind::KwConst},   {"def", TokenKind::KwDef},
    {"return", TokenKind::KwReturn}, {"output", TokenKind::KwOutput},
    {"metric", TokenKind::KwMetric}, {"loss", TokenKind::KwLoss},
    {"train", TokenKind::KwTrain},
};

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }
bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }
/// Characters that may start a token; anything else is a stray character.
bool startsToken(char c) {
  return isIdentStart(c) || isDigit(c) || c == '"' || c == '.' ||
         std::string_view("+-*/@=!<>()[]{},:;").find(c) != std::string_view::npos;
}
} // namespace

std::string_view tokenKindName(TokenKind kind) {
  switch (kind) {
  case TokenKind::Eof: return "end of file";
  case TokenKind::Newline: return "newline";
  case TokenKind::Error: return "invalid character";
  case TokenKind::Identifier: return "identifier";
  case TokenKind::Number: return "number";
  case TokenKind::String: return "string";
  case TokenKind::KwInput: return "'input'";
  case TokenKind::KwParam: return "'param'";
  case TokenKind::KwConst: return "'const'";
  case TokenKind::KwDef: return "'def'";
  case TokenKind::KwReturn: return "'return'";
  case TokenKind::KwOutput: return "'output'";
  case TokenKind::KwMetric: return "'metric'";
  case TokenKind::KwLoss: return "'loss'";
  case TokenKind::KwTrain: return "'train'";
  case TokenKind::Plus: return "'+'";
  case TokenKind::Minus: return "'-'";
  case TokenKind::Star: return "'*'";
  case TokenKind::Slash: return "'/'";
  case TokenKind::StarStar: return "'**'";
  case TokenKind::At: return "'@'";
  case TokenKind::Equal: return "'='";
  case TokenKind::EqualEqual: return "'=='";
  case TokenKind::NotEqual: return "'!='";
  case TokenKind::Less: return "'<'";
  case TokenKind::LessEqual: return "'<='";
  case TokenKind::Greater: return "'>'";
  case TokenKind::GreaterEqual: return "'>='";
  case TokenKind::LParen: return "'('";
  case TokenKind::RParen: return "')'";
  case TokenKind::LBracket: return "'['";
  case TokenKind::RBracket: return "']'";
  case TokenKind::LBrace: return "'{'";
  case TokenKind::RBrace: return "'}'";
  case TokenKind::Comma: return "','";
  case TokenKind::Colon: return "':'";
  case TokenKind::Semicolon: return "';'";
  case TokenKind::Ellipsis: return "'...'";
  }
  return "token";
}

std::string describeToken(const Token &tok) {
  switch (tok.kind) {
  case TokenKind::Identifier: return "'" + clipText(tok.text) + "'";
  case TokenKind::Number: return "number '" + clipText(tok.text) + "'";
  case TokenKind::String: return "string " + clipText(tok.text);
  default: return std::string(tokenKindName(tok.kind));
  }
}

Lexer::Lexer(const SourceManager &sources, uint32_t file, DiagnosticEngine *diags)
    : text_(sources.text(file)), file_(file), diags_(diags) {}

char Lexer::peek(size_t ahead) const {
  size_t i = state_.offset + ahead;
  return i < text_.size() ? text_[i] : '\0';
}

void Lexer::advance(size_t n) {
  for (size_t k = 0; k < n && state_.offset < text_.size(); ++k) {
    char c = text_[state_.offset++];
    bool lineBreak = c == '\n' || (c == '\r' && peek() != '\n');
    if (lineBreak) {
      ++state_.line;
      state_.col = 1;
    } else {
      ++state_.col;
    }
  }
}

bool Lexer::shouldReport(uint32_t offset) {
  if (!diags_ || (anyReported_ && offset < reportedUpTo_))
    return false;
  anyReported_ = true;
  reportedUpTo_ = offset + 1;
  return true;
}

Token Lexer::make(TokenKind kind, State start) {
  Token tok;
  tok.kind = kind;
  tok.loc = {file_, start.line, start.col};
  tok.offset = start.offset;
  tok.text = text_.substr(start.offset, state_.offset - start.offset);
  return tok;
}

Lexer::State Lexer::stateAfterLineOf(uint32_t offset) const {
  Lexer scan = *this;
  scan.diags_ = nullptr;
  if (scan.state_.offset > offset)
    scan.state_ = State{}; // rescan from the start to know the line and column
  while (scan.state_.offset < offset && scan.state_.offset < text_.size())
    scan.advance();
  while (scan.state_.offset < text_.size()) {
    char c = scan.peek();
    scan.advance();
    if (c == '\n' || (c == '\r' && scan.peek() != '\n'))
      break;
  }
  return scan.state_;
}

Token Lexer::next() {
  while (isBlank(peek()) && state_.offset < text_.size())
    advance();
  if (peek() == '#') // a comment runs to the end of the line
    while (state_.offset < text_.size() && peek() != '\n' && peek() != '\r')
      advance();
  State start = state_;
  if (state_.offset >= text_.size())
    return make(TokenKind::Eof, start);

  char c = peek();
  if (c == '\n' || c == '\r') {
    advance(c == '\r' && peek(1) == '\n' ? 2 : 1);
    return make(TokenKind::Newline, start);
  }
  if (isIdentStart(c))
    return lexIdentifier(start);
  if (isDigit(c) || (c == '.' && isDigit(peek(1))))
    return lexNumber(start);
  if (c == '"')
    return lexString(start);

  auto two = [&](char second, TokenKind twoKind, TokenKind oneKind) {
    if (peek(1) == second) {
      advance(2);
      return make(twoKind, start);
    }
    advance();
    return make(oneKind, start);
  };
  switch (c) {
  case '+': advance(); return make(TokenKind::Plus, start);
  case '-': advance(); return make(TokenKind::Minus, start);
  case '*': return two('*', TokenKind::StarStar, TokenKind::Star);
  case '/': advance(); return make(TokenKind::Slash, start);
  case '@': advance(); return make(TokenKind::At, start);
  case '=': return two('=', TokenKind::EqualEqual, TokenKind::Equal);
  case '<': return two('=', TokenKind::LessEqual, TokenKind::Less);
  case '>': return two('=', TokenKind::GreaterEqual, TokenKind::Greater);
  case '(': advance(); return make(TokenKind::LParen, start);
  case ')': advance(); return make(TokenKind::RParen, start);
  case '[': advance(); return make(TokenKind::LBracket, start);
  case ']': advance(); return make(TokenKind::RBracket, start);
  case '{': advance(); return make(TokenKind::LBrace, start);
  case '}': advance(); return make(TokenKind::RBrace, start);
  case ',': advance(); return make(TokenKind::Comma, start);
  case ':': advance(); return make(TokenKind::Colon, start);
  case ';': advance(); return make(TokenKind::Semicolon, start);
  case '.':
    if (peek(1) == '.' && peek(2) == '.') {
      advance(3);
      return make(TokenKind::Ellipsis, start);
    }
    break;
  case '!':
    if (peek(1) == '=') {
      advance(2);
      return make(TokenKind::NotEqual, start);
    }
    break;
  default: break;
  }
  return lexInvalid(start);
}

Token Lexer::lexIdentifier(State start) {
  while (isIdentChar(peek()))
    advance();
  Token tok = make(TokenKind::Identifier, start);
  for (const Keyword &k : kKeywords)
    if (tok.text == k.spelling)
      tok.kind = k.kind;
  return tok;
}

Token Lexer::lexNumber(State start) {
  bool isInteger = true;
  while (isDigit(peek()))
    advance();
  if (peek() == '.') {
    isInteger = false;
    advance();
    while (isDigit(peek()))
      advance();
  }
  bool badExponent = false;
  if (peek() == 'e' || peek() == 'E') {
    size_t signLen = (peek(1) == '+' || peek(1) == '-') ? 1 : 0;
    if (isDigit(peek(1 + signLen))) {
      isInteger = false;
      advance(1 + signLen);
      while (isDigit(peek()))
        advance();
    } else {
      badExponent = true;
    }
  }
  // A number glued to letters or another '.' ("3x", "1e", "1.2.3") is one bad token.
  bool malformed = badExponent || isIdentChar(peek()) || peek() == '.';
  if (malformed) {
    while (isIdentChar(peek()) || peek() == '.')
      advance();
    Token tok = make(TokenKind::Error, start);
    if (shouldReport(start.offset))
      diags_->error(tok.loc, "malformed number '{}'", clipText(tok.text));
    return tok;
  }
  Token tok = make(TokenKind::Number, start);
  tok.isInteger = isInteger;
  const char *first = tok.text.data();
  auto [ptr, ec] = std::from_chars(first, first + tok.text.size(), tok.number);
  if (ec == std::errc::result_out_of_range || !std::isfinite(tok.number)) {
    tok.kind = TokenKind::Error;
    if (shouldReport(start.offset))
      diags_->error(tok.loc, "number '{}' is out of range", clipText(tok.text));
  } else if (ec != std::errc() || ptr != first + tok.text.size()) {
    tok.kind = TokenKind::Error;
    if (shouldReport(start.offset))
      diags_->error(tok.loc, "malformed number '{}'", clipText(tok.text));
  }
  return tok;
}

Token Lexer::lexString(State start) {
  advance(); // opening quote
  std::string value;
  bool terminated = false;
  while (state_.offset < text_.size()) {
    char c = peek();
    if (c == '\n' || c == '\r')
      break;
    if (c == '"') {
      advance();
      terminated = true;
      break;
    }
    if (c == '\\') {
      char e = peek(1);
      if (e == '"' || e == '\\') {
        value += e;
        advance(2);
        continue;
      }
      State escape = state_;
      if (shouldReport(escape.offset)) {
        std::string shown = (e >= 0x20 && e < 0x7F) ? std::string(1, e) : std::string("?");
        diags_->error({file_, escape.line, escape.col},
                      "unknown escape sequence '\\{}' in string; only \\\" and \\\\ are allowed",
                      shown);
      }
      advance();
      continue;
    }
    value += c;
    advance();
  }
  Token tok = make(TokenKind::String, start);
  tok.stringValue = std::move(value);
  tok.unterminated = !terminated;
  if (!terminated && shouldReport(start.offset))
    diags_->error(tok.loc, "unterminated string: missing closing '\"' before the end of the line");
  return tok;
}

Token Lexer::lexInvalid(State start) {
  unsigned char first = static_cast<unsigned char>(peek());
  // Skip the whole run of characters that cannot start a token.
  do {
    advance();
  } while (state_.offset < text_.size() && !startsToken(peek()) && !isBlank(peek()) &&
           peek() != '\n' && peek() != '\r' && peek() != '#');
  Token tok = make(TokenKind::Error, start);
  if (shouldReport(start.offset)) {
    if (first == '!')
      diags_->error(tok.loc, "unexpected character '!'; did you mean '!='?");
    else if (first == '.')
      diags_->error(tok.loc, "unexpected character '.'; numbers are written 0.5 or .5");
    else if (first >= 0x21 && first < 0x7F)
      diags_->error(tok.loc, "unexpected character '{}'", static_cast<char>(first));
    else if (size_t n = utf8SequenceLength(text_, start.offset); n > 1)
      diags_->error(tok.loc, "unexpected character '{}'; names are ASCII letters, digits and '_'",
                    text_.substr(start.offset, n));
    else
      diags_->error(tok.loc,
                    "unexpected byte 0x{:02X}; scripts are UTF-8 text and may use "
                    "other characters only in comments and strings",
                    first);
  }
  return tok;
}

} // namespace nabla
