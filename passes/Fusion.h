//===- Fusion.h - Grouping ops into kernels ----------------------*- C++ -*-===//
//
// Forms fusion groups (ir/Groups.h): each element-wise op joins the group of
// an operand of its shape when nothing it reads from outside is computed
// from that group; matmul and last-axis softmax / log_softmax start groups,
// so the bias, the activation and the gradient arithmetic that follow become
// their epilogue. Constants, sizes, broadcasts and one_hot are copied into
// every group that reads them element-wise instead of being stored. The ops
// are then reordered so that each group is consecutive (the original order
// wherever dependencies allow), and groups of one op are dissolved.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace nabla::passes {

/// Returns whether any group was formed. A function that already has groups
/// is left alone.
bool fuse(ir::Function &fn);

} // namespace nabla::passes
