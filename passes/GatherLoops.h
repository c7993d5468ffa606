//===- GatherLoops.h - The ops of one loop side by side ---------*- C++ -*-===//
//
// The ops of one loop (ir/Loops.h: a scan and its residuals, or the
// scan_grad ops of one backward loop; same body and operands, one per part)
// run as one kernel when they stand next to each other; passes may have
// moved ops between them. This pass moves each one up to the first of its
// loop, which is always valid: they read the same values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace nabla::passes {

/// Moves the parts of each loop next to its first; returns whether any moved.
bool gatherLoopParts(ir::Function &fn);

} // namespace nabla::passes
