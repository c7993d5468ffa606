//===- ModuleEmitter.h - An IR function as an LLVM module -------*- C++ -*-===//
//
// One kernel per op or fusion group (an LLVM function named k<N>_<op> or
// k<N>_fused_<first op>, N the index of its first op, kept out of line so
// that dumps and profiles show each), and an entry function that calls them
// in order with pointers into the arguments, the results and the arena
// (codegen/MemoryPlan.h), then copies out the results not written in place:
//
//   void entry(const void *const *args, void *const *results, char *arena)
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/MemoryPlan.h"
#include "support/SourceManager.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace nabla::codegen {

/// Which op each kernel computes, for annotating dumps.
struct KernelInfo {
  std::string name;
  std::string description; ///< "%h1 = relu ... : f32[128, 256] at fashion_mlp.nn:15:10"
};

/// Emits the step for `target` into `modules` (each in its own context, so that they
/// can be optimized and compiled in parallel): each kernel, named
/// `prefix`k<N>_..., into the least loaded module (external when there are
/// several), and the entry `entryName` into modules[0].
/// With `profile`, the entry calls nabla_profile_kernel (runtime/KernelProfile.h)
/// around the kernels.
void emitModules(const ir::Function &fn, const MemoryPlan &plan, const ir::SymbolBindings &bindings,
                 const Target &target, const std::vector<llvm::Module *> &modules,
                 const std::string &prefix, const std::string &entryName,
                 const SourceManager *sources, std::vector<KernelInfo> *kernels,
                 bool profile = false);

/// The name (k<N>_...) and description of each kernel of `plan`.
std::vector<KernelInfo> describeKernels(const ir::Function &fn, const MemoryPlan &plan,
                                        const SourceManager *sources);

/// The step as one module, kernels named k<N>_... (for dumps).
std::unique_ptr<llvm::Module> emitModule(const ir::Function &fn, const MemoryPlan &plan,
                                         const ir::SymbolBindings &bindings, const Target &target,
                                         llvm::LLVMContext &context, const std::string &entryName,
                                         const SourceManager *sources,
                                         std::vector<KernelInfo> *kernels);

} // namespace nabla::codegen
