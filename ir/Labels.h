//===- Labels.h - The class counts that labels must respect -----*- C++ -*-===//
#pragma once

#include "ir/IR.h"
#include "ir/Interpreter.h"

namespace nabla::ir {

/// The number of classes the i32 labels in `labels` must stay below: the
/// smallest class count among the cross_entropy and one_hot ops that read
/// it, or 0 when none does (or a count depends on an unbound size).
int64_t classCount(const Function &fn, const Value *labels, const SymbolBindings &bindings);

} // namespace nabla::ir
