//===- PredictCommand.cpp - `nabla predict` -------------------------------===//
//
// Forward only: the script's outputs for the data fed in, computed by a copy
// of the forward step that keeps just the outputs (so labels need not be
// fed), written as .npy when there is one output and --out ends in .npy,
// otherwise as safetensors.
//
//===----------------------------------------------------------------------===//
#include "ArgumentLoader.h"
#include "Commands.h"
#include "Driver.h"
#include "Executor.h"

#include "data/TensorFiles.h"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::commands {

int predict(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  ir::Function *step = driver::predictStep(c, options);
  if (!step)
    return driver::kUserError;
  ir::Function &fn = *step;
  const ir::Function *source = driver::sourceFunction(c);

  // Inputs that only the loss or the metrics read (the labels) may be fed
  // or not; they are not needed.
  std::vector<cli::NamedPath> feeds;
  for (const cli::NamedPath &feed : options.feeds)
    if (fn.findArgument(ir::ArgRole::Input, feed.first) ||
        !source->findArgument(ir::ArgRole::Input, feed.first))
      feeds.push_back(feed);

  std::optional<std::vector<Tensor>> results = driver::runOnFiles(options, c, fn, feeds, exitCode);
  if (!results)
    return exitCode;

  std::string error;
  bool npyName = llvm::StringRef(options.out).ends_with(".npy");
  bool written;
  if (npyName && results->size() == 1) {
    written = writeNpy(options.out, (*results)[0], error);
  } else {
    std::vector<std::pair<std::string, const Tensor *>> outputs;
    for (size_t i = 0; i < fn.results.size(); ++i)
      outputs.emplace_back(fn.results[i].name, &(*results)[i]);
    if (npyName)
      driver::errs() << fmt::format("nabla: warning: the script has {} outputs and a .npy file "
                                    "holds one: {} is written as safetensors\n",
                                    results->size(), options.out);
    written = writeSafetensors(options.out, outputs, error);
  }
  if (!written) {
    driver::errs() << options.out << ": error: " << error << "\n";
    return driver::kUserError;
  }
  return driver::kSuccess;
}

} // namespace nabla::commands
