//===- Interpreter.h - The reference interpreter ----------------*- C++ -*-===//
//
// Evaluates any IR function in f32 or f64 with plain loops over doubles,
// rounding each op's result to its dtype. It is obviously correct rather than
// fast, and is the oracle the JIT is tested against.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/Shapes.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nabla::ir {

/// What element-wise `op` computes from one element of each operand (in
/// order), rounded to its dtype: the interpreter's own formula.
double evaluateElement(const Op &op, const std::vector<double> &operands);

class Interpreter {
public:
  explicit Interpreter(DiagnosticEngine &diags) : diags_(diags) {}

  /// Runs `fn` on `args` (one per fn.args, in order, already of the declared
  /// dtypes and of shapes that agree with `bindings`). Returns one tensor per
  /// fn.results, or nothing after reporting an error (a label out of range,
  /// a tensor too large for memory) at the op's source position.
  std::optional<std::vector<Tensor>>
  run(const Function &fn, const std::vector<const Tensor *> &args, const SymbolBindings &bindings);

  /// Runs `fn` op by op and returns the first op whose result holds a NaN or
  /// an infinity though its operands are all finite (null if none does).
  /// When an argument already holds one, sets `badArgument` and returns null.
  const Op *firstNonFinite(const Function &fn, const std::vector<const Tensor *> &args,
                           const SymbolBindings &bindings, const Argument **badArgument);

private:
  DiagnosticEngine &diags_;
};

} // namespace nabla::ir
