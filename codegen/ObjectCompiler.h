//===- ObjectCompiler.h - LLVM modules to object files ----------*- C++ -*-===//
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace nabla::codegen {

struct Target;

/// One module with the context it lives in (modules of different contexts
/// can be compiled at the same time).
struct ModuleUnit {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

/// Seconds each phase took on the slowest thread.
struct ObjectTimes {
  double optimize = 0, machineCode = 0;
};

/// The machine code of `m` (already optimized) as a relocatable object
/// file, or as assembly text; nothing (and `error` set) when the target
/// cannot emit it.
std::optional<std::string> emitMachineCode(llvm::Module &m, llvm::TargetMachine &tm, bool assembly,
                                           std::string &error);

/// Optimizes each module at -O`optLevel` and emits it as a relocatable
/// object for `target`, one thread per module. Nothing (and `error` set) on
/// failure.
std::optional<std::vector<std::string>> compileToObjects(std::vector<ModuleUnit> &units,
                                                         int optLevel, const Target &target,
                                                         ObjectTimes &times, std::string &error);

} // namespace nabla::codegen
