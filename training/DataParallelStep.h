//===- DataParallelStep.h - One training step over all ranks ----*- C++ -*-===//
//
// Under MPI each rank runs the same Trainer on the same data in the same
// order; this step replaces its compiled update (Trainer::overrideStep).
// Of a global batch of n examples, rank r takes rows [r n / N, (r+1) n / N)
// (N ranks: as even as can be; a rank may get none of a small last batch),
// and:
//
//   1. runs @gradients (the training step without its update) on its rows:
//      the loss, the metrics and the gradient of every param, each a mean
//      over its n_r rows;
//   2. scales them by n_r / n and packs them into one buffer, which one
//      allreduce sums over the ranks: every rank then holds the means over
//      the n examples, which a single process would have computed (up to
//      the order of the additions);
//   3. runs @apply_gradients (the optimizer's update alone,
//      passes::applyGradients) on the summed gradients: every rank applies
//      the same update to the same params, so they stay identical without
//      being sent.
//
// The scaling assumes a loss that is a mean over the examples, as every
// built-in loss is.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Compiler.h"
#include "training/Communicator.h"

#include <map>
#include <vector>

namespace nabla {

class DataParallelStep {
public:
  /// `update` is the Trainer's @train_update (its arguments and results
  /// are what the step receives); `gradients` and `apply` are compiled by
  /// `compiler`.
  DataParallelStep(const ir::Function &update, const ir::Function &gradients,
                   const ir::Function &apply, codegen::Compiler &compiler,
                   const SourceManager &sources, DiagnosticEngine &diags, Communicator &world);

  /// The Trainer's StepOverride: a global batch of `n` examples with the
  /// update's arguments, writing the update's results.
  bool operator()(int64_t n, const ir::SymbolBindings &bindings,
                  const std::vector<const Tensor *> &args, const std::vector<Tensor *> &results);

  /// Steps taken, and the seconds spent in them and in their allreduce
  /// (what overlapping the allreduce with the backward pass could hide).
  int64_t steps() const { return steps_; }
  double stepSeconds() const { return stepSeconds_; }
  double allreduceSeconds() const { return allreduceSeconds_; }

private:
  /// This rank's rows of each input of the update.
  void takeRows(int64_t begin, int64_t count, const std::vector<const Tensor *> &args);
  /// Places every gradient in buffer_ (grads_ become views into it).
  void layOutBuffer(const std::map<std::string, const Tensor *> &byName);
  /// Runs `fn` for `bindings` with arguments found by name.
  bool run(const ir::Function &fn, const ir::SymbolBindings &bindings,
           const std::map<std::string, const Tensor *> &byName,
           const std::vector<Tensor *> &results);

  const ir::Function &update_, &gradients_, &apply_;
  codegen::Compiler &compiler_;
  const SourceManager &sources_;
  DiagnosticEngine &diags_;
  Communicator &world_;
  std::string batchSymbol_;
  std::map<std::string, Tensor> rows_; ///< this rank's rows, by input
  /// What one allreduce sums: every gradient (64-byte aligned), then the
  /// loss and the metrics, in the params' dtype.
  Tensor buffer_;
  int64_t scalarsAt_ = 0;
  std::map<std::string, Tensor> grads_; ///< views into buffer_, by param
  std::vector<Tensor> gradientResults_; ///< @gradients' results (the scalars are used)
  Tensor zeroLoss_;                     ///< @apply_gradients' loss
  int64_t steps_ = 0;
  double stepSeconds_ = 0, allreduceSeconds_ = 0;
};

} // namespace nabla
