//===- StepVariants.h - The forward step cut down to one use ----*- C++ -*-===//
//
// `nabla train` evaluates the test set with the loss and the metrics only;
// `nabla predict` computes the outputs only. Each gets a copy of the forward
// step that keeps just those results, without the ops and inputs only the
// others needed (predict needs no labels).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <initializer_list>

namespace nabla::passes {

/// The function names of the variants.
inline constexpr const char *kEvaluateFunction = "evaluate";
inline constexpr const char *kPredictFunction = "predict";

/// Adds to `module` a copy of `forward` named `name` that returns only the
/// results whose role is in `roles`, in the order of `roles` (then in their
/// order in `forward`), with dead ops and unused inputs removed.
ir::Function *addStepVariant(ir::Module &module, const ir::Function &forward, const char *name,
                             std::initializer_list<ir::ResultRole> roles);

/// Reorders `fn`'s results by the position of their role in `roles`,
/// keeping the order among results of one role; drops the others.
void keepResults(ir::Function &fn, std::initializer_list<ir::ResultRole> roles);

} // namespace nabla::passes
