//===- Token.h - Tokens of the .nn language ---------------------*- C++ -*-===//
#pragma once

#include "support/SourceManager.h"
#include "support/Text.h"

#include <string>
#include <string_view>

namespace nabla {

/// Token kinds. Keywords are listed in Lexer.cpp's keyword table.
enum class TokenKind {
  Eof,
  Newline,
  Error, ///< a character the lexer rejected (already diagnosed)
  Identifier,
  Number,
  String,
  // Keywords.
  KwInput,
  KwParam,
  KwConst,
  KwDef,
  KwReturn,
  KwOutput,
  KwMetric,
  KwLoss,
  KwTrain,
  // Operators and punctuation.
  Plus,
  Minus,
  Star,
  Slash,
  StarStar,
  At,
  Equal,
  EqualEqual,
  NotEqual,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Semicolon,
  Ellipsis, ///< `...` in an index
};

/// One token. `text` views the source buffer (it outlives every token).
struct Token {
  TokenKind kind = TokenKind::Eof;
  SourceLoc loc;
  uint32_t offset = 0;       ///< byte offset of the first character
  std::string_view text;     ///< the spelling, as written
  double number = 0;         ///< Number: the value
  bool isInteger = false;    ///< Number: written without '.' or exponent
  std::string stringValue;   ///< String: the value with escapes resolved
  bool unterminated = false; ///< String: ran to the end of the line

  bool is(TokenKind k) const { return kind == k; }
  bool isKeyword() const { return kind >= TokenKind::KwInput && kind <= TokenKind::KwTrain; }
};

/// A short name for the kind: "identifier", "number", "'('", "newline".
std::string_view tokenKindName(TokenKind kind);

/// How a token reads in a message: `'relu'`, `number '3'`, `newline`.
std::string describeToken(const Token &tok);

} // namespace nabla
