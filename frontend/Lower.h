//===- Lower.h - From a checked program to IR -------------------*- C++ -*-===//
//
// Turns Sema's Program into the @forward function of an IR module: every
// builtin becomes primitive ops (mean is a sum and a division, mse a
// difference, a product, a sum and a division, ...) or one of the fused ops
// with their own kernels; broadcasting becomes explicit `broadcast` ops (a
// splat constant is created at the shape it is used at); matmul on vectors
// and batches becomes 2-D or equal-batch matmuls with reshapes. Only what
// the loss, outputs and metrics depend on is lowered.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Program.h"
#include "ir/IR.h"

#include <memory>

namespace nabla::ir {

std::unique_ptr<Module> lower(const Program &program);

} // namespace nabla::ir
