//===- ModuleEmitter.h - An IR function as an LLVM module -------*- C++ -*-===//
//
// One kernel per op (an LLVM function named k<N>_<op>, kept out of line so
// that dumps and profiles show each op), and an entry function that calls
// them in order with pointers into the arguments and the arena, then copies
// the results out:
//
//   void entry(const void *const *args, void *const *results, char *arena)
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Layout.h"
#include "frontend/SourceManager.h"

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

std::unique_ptr<llvm::Module> emitModule(const ir::Function &fn, const Layout &layout,
                                         const ir::SymbolBindings &bindings,
                                         llvm::LLVMContext &context, const std::string &entryName,
                                         const SourceManager *sources,
                                         std::vector<KernelInfo> *kernels);

} // namespace nabla::codegen
