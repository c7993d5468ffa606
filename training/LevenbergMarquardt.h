//===- LevenbergMarquardt.h - The lm optimizer's step -----------*- C++ -*-===//
//
// Levenberg-Marquardt for a script whose loss is mse(pred, target)
// (language.md §10). On each batch: r = pred - target (R elements), J = dr/dp
// (R x n, the params flattened in declaration order, n <= kMaxLmParams), then
//
//   solve (J^T J + mu I) d = J^T r   (Eigen's LDL^T of the n x n matrix)
//   try p - d: if the batch's loss goes down, keep it and mu /= factor;
//              else mu *= factor and solve again, at most 10 times
//              (then the params stay).
//
// mu carries over from step to step as the update's state `mu` (0 there
// means "not started": the script's mu). J's rows come from reverse mode
// (passes/Jacobian.h): one sweep per residual, each about a training step of
// the batch. The network runs in the script's dtype; the linear algebra in
// f64.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Compiler.h"
#include "ir/TrainConfig.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"

#include <map>
#include <vector>

namespace nabla {

/// The tries per step before the params stay.
inline constexpr int kLmTries = 10;
/// The most bytes J of one batch may take (R x n doubles).
inline constexpr int64_t kMaxLmJacobianBytes = int64_t(1) << 30;

class LevenbergMarquardt {
public:
  /// `forward` computes the loss, the metrics and the Residual; `rows` is
  /// passes::addResidualRows of it; `update` is the trainer's @train_update
  /// (its arguments and results give step()'s order).
  LevenbergMarquardt(const ir::Function &forward, const ir::Function &rows,
                     const ir::Function &update, const OptimizerConfig &config,
                     codegen::Compiler &compiler, const SourceManager &sources,
                     DiagnosticEngine &diags);

  /// One step on a batch of `n` examples, with `update`'s arguments (inputs,
  /// params, mu) and results (the loss and metrics at the params it started
  /// from, the new params, the new mu). False after reporting an error.
  bool step(int64_t n, const ir::SymbolBindings &bindings, const std::vector<const Tensor *> &args,
            const std::vector<Tensor *> &results);

private:
  /// The compiled `fn` for these sizes (compiled once).
  codegen::CompiledStep *compiled(const ir::Function &fn, int64_t n,
                                  const ir::SymbolBindings &bindings);
  /// `fn`'s arguments, each taken from `update`'s arguments by role and name;
  /// params from `params` when given.
  std::vector<const Tensor *> argumentsOf(const ir::Function &fn,
                                          const std::vector<const Tensor *> &updateArgs,
                                          const std::map<std::string, const Tensor *> *params);

  const ir::Function &forward_, &rows_, &update_;
  OptimizerConfig config_;
  codegen::Compiler &compiler_;
  const SourceManager &sources_;
  DiagnosticEngine &diags_;
  std::map<std::pair<const ir::Function *, int64_t>, codegen::CompiledStep *> steps_;
};

} // namespace nabla
