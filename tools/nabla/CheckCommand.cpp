//===- CheckCommand.cpp - `nabla check` -----------------------------------===//
#include "Commands.h"
#include "Driver.h"

namespace nabla::commands {

int check(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  driver::checkScript(options, c, exitCode);
  return exitCode;
}

} // namespace nabla::commands
