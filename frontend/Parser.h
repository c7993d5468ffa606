//===- Parser.h - Recursive-descent parser for .nn scripts ------*- C++ -*-===//
//
// Builds the AST of one script. Errors are reported to the DiagnosticEngine and
// parsing resumes at the next statement, so one run reports several mistakes.
// Brackets are matched in a first pass: an unclosed or stray bracket gets one
// pointed error instead of a cascade at whatever token comes next.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "support/Diagnostics.h"

#include <memory>

namespace nabla {

/// Limits that keep hostile input from exhausting the stack or memory.
struct ParserLimits {
  /// Brackets, unary operators and `**` nested inside one another.
  static constexpr unsigned kMaxNesting = 256;
  /// Height of an expression tree, which also bounds `a + a + ... + a`.
  static constexpr unsigned kMaxExprHeight = 1000;
  /// Elements of one list, arguments of one call, fields of one record.
  static constexpr unsigned kMaxElements = 10000;
};

/// Parses buffer `file`. Always returns a module holding the statements that
/// parsed; `diags.hasErrors()` tells whether anything was wrong.
std::unique_ptr<ast::Module> parseModule(const SourceManager &sources, uint32_t file,
                                         DiagnosticEngine &diags);

} // namespace nabla
