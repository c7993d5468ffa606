//===- OptimizerUpdate.h - The optimizer's step as IR ------------*- C++ -*-===//
//
// Appends an optimizer's update to a training step, so that the compiled
// step computes the loss, the gradients and the new params in one call:
// @train_update takes the inputs, the params and the optimizer's state, and
// returns the loss, the metrics, `update NAME` for every param and `state
// NAME` for every state value. The rules are PyTorch's (torch.optim in 1.13),
// operation for operation:
//
//   sgd:     g += wd p;  b = momentum b + g;  g = nesterov ? g + momentum b : b;  p -= lr g
//   adam:    g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²;  t += 1;
//            p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   adamw:   p *= 1 - lr wd, then adam without the wd term
//   rmsprop: v = alpha v + (1 - alpha) g²;  p -= lr g / (sqrt(v) + eps)
//
// State (named per param) starts at zero: momentum.W, exp_avg.W, exp_avg_sq.W,
// square_avg.W, and the step count `step`.
//
//   lm:      a linear solve per step, which the graph cannot hold: its update
//            returns the params unchanged and carries the damping `mu` as
//            state; training/LevenbergMarquardt.h takes the step (the trainer
//            runs it instead of this function).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/TrainConfig.h"
#include "support/Diagnostics.h"

namespace nabla::passes {

/// Adds @train_update to `module`, built from `trainStep` (which has a grad
/// per param). Returns it, or null after reporting an error.
ir::Function *appendOptimizer(ir::Module &module, const ir::Function &trainStep,
                              const OptimizerConfig &optimizer, DiagnosticEngine &diags,
                              const char *name = ir::kUpdateFunction);

/// The prefix of applyGradients' gradient inputs: `grad.W` for param W.
inline constexpr const char *kGradInputPrefix = "grad.";

/// Adds @`name`, the optimizer's update alone, for gradients computed
/// elsewhere (summed over the ranks of a data-parallel run,
/// training/DataParallelStep.h): inputs `grad.P` for every param P of
/// `trainStep`, the params and the state; results as @train_update's (a
/// zero loss, `update P`, `state S`). Null after reporting an error.
ir::Function *applyGradients(ir::Module &module, const ir::Function &trainStep,
                             const OptimizerConfig &optimizer, DiagnosticEngine &diags,
                             const char *name);

} // namespace nabla::passes
