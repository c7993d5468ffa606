//===- JIT.h - A small ORC JIT ----------------------------------*- C++ -*-===//
//
// create -> add a module or object files (each addition with its own
// resource tracker) -> look up a symbol. Compiled code resolves the C
// library and libmvec from the process, and the runtime's entry points
// (nabla_parallel_for) by address. ORC's types stay inside JIT.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace nabla::codegen {

struct Target;

class JIT {
public:
  /// A JIT for `target` at -O`optLevel` (code it links runs only where the
  /// host has the target's features); null and `error` set on failure.
  static std::unique_ptr<JIT> create(int optLevel, const Target &target, std::string &error);
  ~JIT();

  /// Hands `module` (already optimized) to the JIT; code is generated on the
  /// first lookup of one of its symbols.
  bool addModule(std::unique_ptr<llvm::LLVMContext> context, std::unique_ptr<llvm::Module> module,
                 std::string &error);

  /// Adds relocatable object files (a compiled step) as one unit; returns
  /// its handle, or -1 (nothing added) when one is rejected.
  int addObjects(const std::vector<std::string> &objects, std::string &error);
  /// Removes a unit added by addObjects (after its symbols failed to link).
  void removeObjects(int handle);

  /// The address of `symbol`, compiling its module if needed; null on failure.
  void *lookup(const std::string &symbol, std::string &error);
  template <typename Fn> Fn *lookupFunction(const std::string &symbol, std::string &error) {
    return reinterpret_cast<Fn *>(lookup(symbol, error));
  }

private:
  JIT();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace nabla::codegen
