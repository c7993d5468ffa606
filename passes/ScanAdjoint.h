//===- ScanAdjoint.h - Backpropagation through time -------------*- C++ -*-===//
//
// The gradient of a scan is a reverse loop (ir/Loops.h): the adjoint pass
// differentiates the scan's body once, on its own, into the body of a
// scan_grad, and the loop runs it once per step from the last visit to the
// first. At each visit the gradient reaching h_t is the slice of G = d/d hs
// at t plus the carry from the visit after it (h_t was that visit's prev):
//
//   carry_{t-1} = (dh_t/dprev)ᵀ (G_t + carry_t)         (carry_T = 0)
//   dx_t        = (dh_t/dx_t)ᵀ  (G_t + carry_t)
//   de_j        = Σ_t (dh_t/de_j)ᵀ (G_t + carry_t)
//   dinit       = carry_{-1}
//
// The backward body reads what the rules need of the step's forward values
// from the forward loop: h_t from the states (stacked time-major), the
// results of the cell's matmuls and convolutions from residuals the forward
// loop stacks as more parts of itself; the rest it computes again from
// those, element-wise. Every op of that body carries the source position of
// the op of f it computes or differentiates.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/AdjointBuilder.h"
#include "support/Diagnostics.h"

namespace nabla::passes {

/// Appends the scan_grad ops of scan `op` whose result's gradient is `g`,
/// and contributes each operand's gradient. False after reporting an error
/// from differentiating the body.
bool differentiateScan(AdjointBuilder &b, ir::Op &op, ir::Value *g, DiagnosticEngine &diags);

} // namespace nabla::passes
