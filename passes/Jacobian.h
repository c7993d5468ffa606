//===- Jacobian.h - Rows of the residuals' Jacobian by reverse mode -*- C++ -*-===//
//
// The Levenberg-Marquardt optimizer needs J = dr/dp, r a function's Residual
// result (pred - target of an mse) and p every param. One reverse sweep from
// the scalar sum(r * u) gives u^T J: with u the unit vector e_i, row i of J.
// Reverse mode reuses the adjoint pass as it is, and a row costs one training
// step of the batch, so J costs R steps for R residuals.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <string>

namespace nabla::passes {

/// The name of the seed input of addResidualRows' function.
inline constexpr const char *kResidualSeed = "u";

/// Adds to `module` a function `name` with `forward`'s arguments and one more
/// input "u" of the Residual result's type, whose results are one Grad per
/// param, in param order: u^T (dr/dp). Null after an error (no residual).
ir::Function *addResidualRows(ir::Module &module, const ir::Function &forward,
                              const std::string &name, DiagnosticEngine &diags);

} // namespace nabla::passes
