//===- ShapeRules.h - The result type of every op ---------------*- C++ -*-===//
//
// An op's result type follows from its operands and attributes by the rule
// of its family (Ops.def): element-wise ops keep their operands' type, a
// reduction drops its axes, a matmul takes rows from one side and columns
// from the other, and so on. The verifier checks every op with these rules;
// one function per family, so a new op of a family needs no rule of its own.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>

namespace nabla::ir {

/// Checks the result type of `op` against its operands and attributes by
/// its family's rule. Returns "" when it fits, else what is wrong.
std::string checkResultType(const Op &op);

} // namespace nabla::ir
