//===- Clone.h - Copying functions ------------------------------*- C++ -*-===//
#pragma once

#include "ir/IR.h"

#include <unordered_map>

namespace nabla::ir {

/// Old value -> its copy.
using ValueMap = std::unordered_map<const Value *, Value *>;

/// Appends copies of `src`'s arguments, ops and results to `dst` (normally
/// empty) and returns the mapping from `src`'s values to the copies.
ValueMap cloneInto(const Function &src, Function &dst);

} // namespace nabla::ir
