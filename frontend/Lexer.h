//===- Lexer.h - On-demand tokenizer for .nn scripts ------------*- C++ -*-===//
//
// Produces one token per call, so memory stays bounded however long the input
// is. Newlines are tokens: the parser decides where they end a statement.
// Malformed input (a stray byte, an unterminated string, a bad number) is
// diagnosed once, even if the parser rewinds and lexes the same text again.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Token.h"
#include "support/Diagnostics.h"

namespace nabla {

class Lexer {
public:
  /// Lexes buffer `file` of `sources`. With `diags` null the lexer is quiet.
  Lexer(const SourceManager &sources, uint32_t file, DiagnosticEngine *diags);

  /// Returns the next token; at the end, Eof forever.
  Token next();

  /// A resumable position.
  struct State {
    uint32_t offset = 0, line = 1, col = 1;
  };
  State state() const { return state_; }
  void reset(State s) { state_ = s; }

  /// The position just after the first line break at or after `offset`
  /// (or the end of the text).
  State stateAfterLineOf(uint32_t offset) const;

private:
  char peek(size_t ahead = 0) const;
  void advance(size_t n = 1);
  SourceLoc loc() const { return {file_, state_.line, state_.col}; }
  bool shouldReport(uint32_t offset);
  Token make(TokenKind kind, State start);
  Token lexNumber(State start);
  Token lexString(State start);
  Token lexIdentifier(State start);
  Token lexInvalid(State start);

  std::string_view text_;
  uint32_t file_;
  DiagnosticEngine *diags_;
  State state_;
  uint32_t reportedUpTo_ = 0; ///< errors before this offset were already reported
  bool anyReported_ = false;
};

} // namespace nabla
