//===- Commands.h - One entry point per nabla command -----------*- C++ -*-===//
#pragma once

#include "CommandLine.h"

namespace nabla::commands {

/// Each returns the process exit code.
int check(const cli::Options &options);
int dump(const cli::Options &options);
int eval(const cli::Options &options);
int train(const cli::Options &options);
int predict(const cli::Options &options);
int gradcheck(const cli::Options &options);
int hessian(const cli::Options &options);
int bench(const cli::Options &options);
int compile(const cli::Options &options);

} // namespace nabla::commands
