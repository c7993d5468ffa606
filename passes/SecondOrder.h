//===- SecondOrder.h - Hessian-vector products by reverse over reverse -*- C++ -*-===//
//
// The adjoint pass applies to its own output: differentiating the dot product
// of the gradient with a direction v, sum over params p of <dL/dp, v_p>,
// gives the Hessian-vector product H v, one more backward sweep at about the
// cost of a training step and without forming H. `nabla hessian` builds the
// whole Hessian from n of them (the columns H e_i) or one with --hvp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <string>

namespace nabla::passes {

/// The direction input of param NAME in a Hessian-vector product is
/// "v.NAME" (no script input can be called so: '.' is not in identifiers).
inline constexpr const char *kDirectionPrefix = "v.";

/// From the training step `step` (the adjoint pass's output), adds to
/// `module` a function `name` whose arguments are `step`'s, then one input
/// "v.NAME" of each param's type, in param order, and whose results are, for
/// each param in order, a Grad result named after it holding (H v) for that
/// param: H the Hessian of the loss with respect to every param. Null after
/// an error.
ir::Function *addHessianVectorProduct(ir::Module &module, const ir::Function &step,
                                      const std::string &name, DiagnosticEngine &diags);

} // namespace nabla::passes
