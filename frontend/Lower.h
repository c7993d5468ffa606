//===- Lower.h - From a checked program to IR -------------------*- C++ -*-===//
//
// Turns Sema's Program into the @forward function of an IR module: every
// builtin becomes primitive ops (mean is a sum and a division, mse a
// difference, a product, a sum and a division, ...) or one of the fused ops
// with their own kernels; broadcasting becomes explicit `broadcast` ops (a
// splat constant is created at the shape it is used at); matmul on vectors
// and batches becomes 2-D or equal-batch matmuls with reshapes. Only what
// the loss, outputs and metrics depend on is lowered. `grad(f, x)` is lowered
// by the adjoint pass (passes/Adjoint.h): the ops of d f / d x go into
// @forward right after f's, ordinary ops that are differentiated again when
// the loss depends on them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Program.h"
#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <memory>

namespace nabla::ir {

/// The module of `program`; null after an error reported to `diags` (only an
/// internal one: Sema has checked the program).
std::unique_ptr<Module> lower(const Program &program, DiagnosticEngine &diags);

} // namespace nabla::ir
