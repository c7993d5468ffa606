//===- main.cpp - The nabla command-line tool -----------------------------===//
#include "CommandLine.h"
#include "Commands.h"

#include "runtime/FloatMode.h"
#include "runtime/ThreadPool.h"

#include <llvm/Support/thread.h>

#include <optional>

namespace {

int runTool(int argc, char **argv) {
  nabla::cli::ParseResult parsed = nabla::cli::parseCommandLine(argc, argv);
  if (!parsed.options)
    return parsed.exitCode;
  const nabla::cli::Options &options = *parsed.options;
  if (options.threads > 0)
    nabla::setParallelThreads(options.threads);
  nabla::setFlushSubnormals(!options.ieeeSubnormals);
  switch (options.command) {
  case nabla::cli::Command::Check: return nabla::commands::check(options);
  case nabla::cli::Command::Dump: return nabla::commands::dump(options);
  case nabla::cli::Command::Eval: return nabla::commands::eval(options);
  case nabla::cli::Command::Train: return nabla::commands::train(options);
  case nabla::cli::Command::Predict: return nabla::commands::predict(options);
  case nabla::cli::Command::Gradcheck: return nabla::commands::gradcheck(options);
  case nabla::cli::Command::Bench: return nabla::commands::bench(options);
  case nabla::cli::Command::Hessian: return nabla::commands::hessian(options);
  case nabla::cli::Command::Compile: return nabla::commands::compile(options);
  }
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  // Run on a thread with a large stack: the front end recurses over syntax
  // trees whose depth the parser bounds, and this keeps any accepted tree safe.
  constexpr unsigned kStackBytes = 512u << 20;
  int exitCode = 0;
  llvm::thread worker(std::optional<unsigned>(kStackBytes),
                      [&] { exitCode = runTool(argc, argv); });
  worker.join();
  return exitCode;
}
