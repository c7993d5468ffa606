//===- AdjointRules.h - One vector-Jacobian rule per op ---------*- C++ -*-===//
#pragma once

#include "passes/AdjointBuilder.h"

namespace nabla::passes {

/// Given the gradient `g` of `op`'s result, contributes the gradient of each
/// operand that needs one: the vector-Jacobian product g^T (d result / d operand).
using AdjointRule = void (*)(AdjointBuilder &b, ir::Op &op, ir::Value *g);

/// The rule for `kind`; null for ops without one. Every op without the kNoGrad
/// trait has a rule (a test enumerates the op table).
AdjointRule adjointRule(ir::OpKind kind);

} // namespace nabla::passes
