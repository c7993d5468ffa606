//===- Driver.h - Running the compiler stages for a command -----*- C++ -*-===//
//
// The steps every command shares: read the script, parse it, apply --set,
// check it, lower it to IR (or read a .nnir file). Each step prints its
// diagnostics and reports failure, so a command is a short sequence of calls.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "CommandLine.h"

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/Program.h"
#include "ir/IR.h"

#include <memory>

namespace nabla::driver {

/// Everything the compiler produced for one script.
struct Compilation {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  uint32_t file = 0;
  std::unique_ptr<ast::Module> ast;
  std::unique_ptr<Program> program;
  std::unique_ptr<ir::Module> ir;
};

/// Exit codes of the CLI spec.
enum ExitCode { kSuccess = 0, kUserError = 1, kUsageError = 2 };

/// True when `path` names a text-IR file rather than a script.
bool isIRFile(const std::string &path);

/// Reads options.script into `c`. Prints an error and returns false on failure.
bool readScript(const cli::Options &options, Compilation &c);
/// Parses the script read into `c`.
bool parseScript(Compilation &c);
/// Reads, parses and checks a script; on failure returns the exit code in `exitCode`.
bool checkScript(const cli::Options &options, Compilation &c, int &exitCode);
/// Produces c.ir: lowers a checked script, or reads a .nnir file. Verifies it.
bool compileToIR(const cli::Options &options, Compilation &c, int &exitCode);
/// The function that computes the results, and the gradients when
/// `withGradients` (running the adjoint pass unless c.ir already has the
/// train step). Null after reporting an error.
const ir::Function *functionToRun(Compilation &c, bool withGradients);

} // namespace nabla::driver
