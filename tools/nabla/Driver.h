//===- Driver.h - Running the front end for a command -----------*- C++ -*-===//
//
// The steps every command shares: read the script, parse it, apply --set,
// check it. Each step prints its diagnostics and reports failure, so a
// command is a short sequence of calls.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "CommandLine.h"

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/Program.h"

#include <memory>

namespace nabla::driver {

/// Everything the front end produced for one script.
struct Compilation {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  uint32_t file = 0;
  std::unique_ptr<ast::Module> module;
  std::unique_ptr<Program> program;
};

/// Exit codes of the CLI spec.
enum ExitCode { kSuccess = 0, kUserError = 1, kUsageError = 2 };

/// Reads options.script into `c`. Prints an error and returns false on failure.
bool readScript(const cli::Options &options, Compilation &c);
/// Parses the script read into `c`.
bool parseScript(Compilation &c);
/// Reads, parses and checks the script; on failure returns the exit code in `exitCode`.
bool checkScript(const cli::Options &options, Compilation &c, int &exitCode);

} // namespace nabla::driver
