//===- Executor.h - Running IR functions: JIT or interpreter ----*- C++ -*-===//
//
// Commands run functions through this: compiled by the JIT (the default, one
// compile per function and set of sizes) or, with --interp, evaluated by the
// reference interpreter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ArgumentLoader.h"
#include "CommandLine.h"
#include "Driver.h"

#include "codegen/Compiler.h"
#include "ir/Interpreter.h"

#include <memory>
#include <optional>
#include <vector>

namespace nabla::driver {

class Executor {
public:
  /// Null (after printing why) when the JIT cannot be created.
  static std::unique_ptr<Executor> create(const cli::Options &options, Compilation &c);

  /// One tensor per result of `fn`, or nothing after reporting an error.
  std::optional<std::vector<Tensor>> run(const ir::Function &fn,
                                         const std::vector<const Tensor *> &args,
                                         const ir::SymbolBindings &bindings);

  /// The JIT, or null under --interp.
  codegen::Compiler *compiler() { return compiler_.get(); }

private:
  explicit Executor(Compilation &c) : c_(c) {}
  Compilation &c_;
  std::unique_ptr<codegen::Compiler> compiler_;
};

/// Loads the params of --params and the inputs of `feeds` into `loader`
/// (every file first, so that one run reports every bad file) and checks the
/// labels. False, with `exitCode` set, after reporting an error.
bool loadFromFiles(const cli::Options &options, Compilation &c, ArgumentLoader &loader,
                   const std::vector<cli::NamedPath> &feeds, int &exitCode);

/// Runs `fn` once on the params of --params and the inputs of `feeds`
/// (loading every file first, so that one run reports every bad file), on
/// the JIT or the interpreter. Nothing, with `exitCode` set, after reporting
/// an error.
std::optional<std::vector<Tensor>> runOnFiles(const cli::Options &options, Compilation &c,
                                              const ir::Function &fn,
                                              const std::vector<cli::NamedPath> &feeds,
                                              int &exitCode);

} // namespace nabla::driver
