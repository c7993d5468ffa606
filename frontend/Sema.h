//===- Sema.h - Names, dtypes, shapes, train settings -----------*- C++ -*-===//
//
// Checks a parsed script and produces its Program: resolves every name with
// the language's scoping, folds consts (applying `--set`), expands `def`s at
// their call sites, infers dtypes and shapes for every builtin, and validates
// initializers and the `train` block. Mistakes are reported with notes that
// point where an operand got its shape or where a name was first defined.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Program.h"
#include "support/Diagnostics.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nabla {

struct SemaOptions {
  /// `--set NAME=VALUE`: replaces the value of const NAME.
  std::vector<std::pair<std::string, double>> constOverrides;
  /// `--dtype f64`: every f32 value is compiled as f64.
  bool forceF64 = false;
  /// Folder that relative data-source paths are resolved against.
  std::string scriptDir;
};

/// Limits that keep function expansion from growing without bound.
struct SemaLimits {
  static constexpr unsigned kMaxCallDepth = 64;
  /// Expressions nested inside one another, counting through def calls.
  static constexpr unsigned kMaxEvalDepth = 20000;
  static constexpr unsigned kMaxNodes = 1'000'000;
  static constexpr unsigned kMaxExpansions = 1'000'000;
};

/// Checks `module`. Returns the program even when errors were reported (its
/// contents are then partial); `diags.hasErrors()` tells.
std::unique_ptr<Program> analyze(const ast::Module &module, const SourceManager &sources,
                                 DiagnosticEngine &diags, const SemaOptions &options);

} // namespace nabla
