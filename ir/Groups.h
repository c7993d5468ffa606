//===- Groups.h - What one fused kernel may compute -------------*- C++ -*-===//
//
// A fusion group is a run of consecutive ops compiled into one kernel. Its
// shape is one loop nest over the group's result shape:
//
//   - optionally an anchor first: a matmul, a conv2d, or a softmax / log_softmax over
//     the last axis, computed row by row;
//   - then element-wise ops over that shape, each element computed from the
//     same element of the values before it in the group, from external
//     values of the group's shape, from external values stretched by a
//     `broadcast`, or from labels through `one_hot`; splat constants and
//     sizes are free.
//
// Values used after the group (or returned) are stored; the others live in
// registers only. The fusion pass forms groups, the verifier checks them,
// and the code generator emits them, all by these rules.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>
#include <vector>

namespace nabla::ir {

/// Whether `op` may start a group as its anchor.
bool canAnchorGroup(const Op &op);

/// Whether `op` may be computed element by element inside a group.
bool isGroupElementOp(const Op &op);

/// Checks that `ops` (consecutive, in order) form a valid group: "" when they
/// do, else what is wrong.
std::string checkGroup(const std::vector<const Op *> &ops);

/// The groups of `fn` in order, each as its ops; ops outside groups are not listed.
std::vector<std::vector<const Op *>> groupsOf(const Function &fn);

} // namespace nabla::ir
