//===- LoopKernels.h - scan and scan_grad as loops in LLVM ------*- C++ -*-===//
//
// A loop op (ir/Loops.h) compiles to one kernel holding the loop over the
// steps. Its body is compiled once, as a step of its own (its kernels and an
// entry, codegen/ModuleEmitter.h), and the kernel calls that entry at every
// visit with pointers to the visit's buffers; the body's working memory is
// part of the kernel's scratch space, planned once (codegen/MemoryPlan.h).
//
// A slice of xs, g or hs along the loop's axis is contiguous when no axis
// comes before it with more than one element: then, when its size keeps
// every slice 64-byte aligned (as kernels assume of their buffers), the body
// reads and writes it in place. Otherwise the kernel copies slices in and out
// of scratch buffers, one contiguous run per position of the axes before it. States
// pass from visit to visit through two scratch buffers taken in turn (a body
// never writes a buffer it reads), and so do the carried gradient and the
// accumulated gradients of the extras in a scan_grad.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/MemoryPlan.h"
#include "codegen/Target.h"
#include "ir/IR.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace llvm {
class Function;
class Value;
} // namespace llvm

namespace nabla::codegen {

/// The scratch bytes of the kernel of loop op `loop` (with the other parts
/// of its loop: they need no more) whose operands have `operandShapes`, or
/// nothing (and `error` set) when the body's memory cannot be planned.
std::optional<size_t> loopScratchBytes(const ir::Op &loop,
                                       const std::vector<std::vector<int64_t>> &operandShapes,
                                       const ir::SymbolBindings &bindings, const Target &target,
                                       std::string &error);

/// What the loop kernel works with.
struct LoopKernel {
  std::vector<const ir::Op *> ops; ///< the scan, or the scan_grad parts it stores
  /// The buffer of each operand and of each op's result.
  std::unordered_map<const ir::Value *, llvm::Value *> buffers;
  llvm::Value *scratch = nullptr;
  std::string prefix; ///< for the body's functions: `prefix`body_... (unique in the module)
};

/// Emits the kernel's code into `kernelFn` (which takes the buffers, the
/// scratch and the status, and ends with `ret`), and the body's functions
/// into its module.
void emitLoopKernel(llvm::Function *kernelFn, const LoopKernel &loop, const MemoryPlan &plan,
                    const ir::SymbolBindings &bindings, const Target &target);

} // namespace nabla::codegen
