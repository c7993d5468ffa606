//===- DeadCode.h - Removing ops no result needs ----------------*- C++ -*-===//
#pragma once

#include "ir/IR.h"

namespace nabla::passes {

/// Removes the ops whose values no result depends on. Returns whether any
/// op was removed.
bool removeDeadOps(ir::Function &fn);

/// Removes input arguments no op or result uses (params and state stay).
/// Returns whether any was removed.
bool removeUnusedInputs(ir::Function &fn);

} // namespace nabla::passes
