//===- MemoryPlanDump.h - Printing a memory plan ----------------*- C++ -*-===//
#pragma once

#include "codegen/MemoryPlan.h"

namespace llvm {
class raw_ostream;
}

namespace nabla::codegen {

/// The kernels, each arena buffer with its size, offset and live range
/// (which forward values the backward sweep keeps), scratch space, and the
/// peak against what the values would take unplanned.
void printMemoryPlan(const ir::Function &fn, const MemoryPlan &plan,
                     const ir::SymbolBindings &bindings, llvm::raw_ostream &os);

} // namespace nabla::codegen
