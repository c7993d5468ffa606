//===- InterpreterLoops.h - scan and scan_grad in the interpreter -*- C++ -*-===//
//
// The loops of ir/Loops.h run step by step: each visit runs the op's body
// through the interpreter itself, on the slices of the operands.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/InterpreterKernels.h"

#include <functional>
#include <optional>

namespace nabla::ir::kernels {

/// Runs a body on its arguments, giving its results (nothing after an error).
using RunBody =
    std::function<std::optional<std::vector<Buffer>>(const Function &, std::vector<Buffer>)>;

/// The result of loop op `op` on `in` (its operands).
std::optional<Buffer> loop(const Op &op, const std::vector<const Buffer *> &in, const RunBody &run);

} // namespace nabla::ir::kernels
