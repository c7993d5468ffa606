//===- FusedKernels.h - One kernel for a fusion group -----------*- C++ -*-===//
#pragma once

#include "codegen/MemoryPlan.h"

#include <unordered_map>
#include <vector>

namespace llvm {
class Function;
class Value;
} // namespace llvm

namespace nabla::codegen {

/// A fusion group as its kernel sees it.
struct GroupKernel {
  std::vector<const ir::Op *> ops;
  std::vector<int64_t> opIndices;        ///< of each op in the function (for errors)
  std::vector<const ir::Value *> stored; ///< values written to memory
  /// The pointer of every stored value and every value read from memory.
  std::unordered_map<const ir::Value *, llvm::Value *> buffers;
  /// Where the anchor computes its rows when it is not stored: a stored
  /// value's buffer (the plan's anchorBuffer), else (null) the scratch
  /// space at anchorRowsOffset.
  llvm::Value *anchorRows = nullptr;
  size_t anchorRowsOffset = 0;
  llvm::Value *scratch = nullptr;
  llvm::Value *status = nullptr;
};

/// Emits the body of a fused kernel into `fn` (ending with `ret`).
void emitGroup(llvm::Function *fn, const GroupKernel &group, const MemoryPlan &plan,
               const ir::SymbolBindings &bindings, const Target &target);

} // namespace nabla::codegen
