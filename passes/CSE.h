//===- CSE.h - Common subexpression elimination -----------------*- C++ -*-===//
//
// Two ops of the same kind, operands, attributes and result type compute the
// same value: later ones are replaced by the first. (Every op is pure.) The
// adjoint pass recomputes softmax for the gradient of cross-entropy, sizes
// and zero constants; CSE merges them with the forward's.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace nabla::passes {

bool eliminateCommonSubexpressions(ir::Function &fn);

} // namespace nabla::passes
