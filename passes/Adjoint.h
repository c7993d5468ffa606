//===- Adjoint.h - Reverse-mode differentiation of an IR function -*- C++ -*-===//
//
// From a function with a loss, builds a function that computes the same
// results and, in one backward sweep from the loss, the gradient of the loss
// with respect to every param: one `grad NAME` result per param. The sweep
// visits the ops in reverse; each op's rule (passes/AdjointRules.cpp) turns
// the gradient of its result into gradients of its operands; an operand used
// several times sums what it receives. Only values that depend on a param and
// that the loss depends on are differentiated; nothing flows through i32
// values or ops without a gradient (comparisons, argmax, one_hot,
// stop_gradient). Every backward op carries the source position of the
// forward op it differentiates.
//
// The result is ordinary IR, so the pass applies to its own output (second
// derivatives, Hessian-vector products).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <optional>
#include <string>
#include <vector>

namespace nabla::passes {

/// Appends to `fn` the backward sweep from `f` through the ops `fn` holds
/// now, and returns the gradient with respect to each of `wrt`: null where
/// `f` does not depend on it. The sweep starts from `seed` (of f's type): the
/// result is seedᵀ (df/dx); without one f is a scalar, seeded with 1. Nullopt
/// after reporting an op without a rule.
std::optional<std::vector<ir::Value *>> backpropagate(ir::Function &fn, ir::Value *f,
                                                      const std::vector<ir::Value *> &wrt,
                                                      DiagnosticEngine &diags,
                                                      ir::Value *seed = nullptr);

/// `grad(f, x)` of the language: appends to `fn` the ops of d f / d x (zeros
/// of x's type, at `loc`, when f does not depend on x) and returns that
/// value; null after an error. The ops are ordinary IR, differentiable again.
ir::Value *gradientOf(ir::Function &fn, ir::Value *f, ir::Value *x, SourceLoc loc,
                      DiagnosticEngine &diags);

/// Adds to `module` a function `name` that is `source` plus the gradients.
/// Returns it, or null after reporting an error at a source position (no
/// loss, or an op without a rule).
ir::Function *differentiate(ir::Module &module, const ir::Function &source, const std::string &name,
                            DiagnosticEngine &diags);

} // namespace nabla::passes
