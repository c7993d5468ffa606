//===- CheckCommand.cpp - `nabla check` -----------------------------------===//
#include "Commands.h"
#include "Driver.h"

namespace nabla::commands {

int check(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  if (driver::isIRFile(options.script))
    driver::compileToIR(options, c, exitCode); // parsing a .nnir file verifies it
  else
    driver::checkScript(options, c, exitCode);
  return exitCode;
}

} // namespace nabla::commands
