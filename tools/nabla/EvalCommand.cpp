//===- EvalCommand.cpp - `nabla eval` -------------------------------------===//
//
// One forward step on the data fed in: prints `loss: VALUE` and one line per
// metric, and with --outputs writes every output, metric and the loss.
//
//===----------------------------------------------------------------------===//
#include "ArgumentLoader.h"
#include "Commands.h"
#include "Driver.h"

#include "ir/Interpreter.h"
#include "runtime/TensorFiles.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::commands {

int eval(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  const ir::Function &fn = *c.ir->lookup(ir::kForwardFunction);

  driver::ArgumentLoader loader(fn, c.diags);
  bool hasParams = !fn.arguments(ir::ArgRole::Param).empty();
  if (hasParams && options.params.empty()) {
    llvm::errs() << "nabla: error: the script has params: give them with --params FILE\n";
    return driver::kUsageError;
  }
  // Load everything before stopping, so that one run reports every bad file.
  bool paramsLoaded = !hasParams || loader.loadParams(options.params);
  bool feedsLoaded = loader.loadFeeds(options.feeds);
  if (!paramsLoaded || !feedsLoaded || !loader.checkLabels()) {
    c.diags.flush(llvm::errs());
    return driver::kUserError;
  }

  ir::Interpreter interpreter(c.diags);
  std::optional<std::vector<Tensor>> results =
      interpreter.run(fn, loader.arguments(), loader.bindings());
  if (!results) {
    c.diags.flush(llvm::errs());
    return driver::kUserError;
  }

  // The loss first, then the metrics in script order.
  std::vector<std::pair<std::string, const Tensor *>> written;
  for (ir::ResultRole role : {ir::ResultRole::Loss, ir::ResultRole::Metric})
    for (size_t i = 0; i < fn.results.size(); ++i)
      if (fn.results[i].role == role)
        llvm::outs() << (role == ir::ResultRole::Loss ? "loss" : fn.results[i].name) << ": "
                     << driver::formatScalar((*results)[i]) << "\n";
  for (size_t i = 0; i < fn.results.size(); ++i) {
    const ir::Result &r = fn.results[i];
    written.emplace_back(r.role == ir::ResultRole::Loss ? "loss" : r.name, &(*results)[i]);
  }
  llvm::outs().flush();
  if (!options.outputs.empty()) {
    std::string error;
    if (!writeSafetensors(options.outputs, written, error)) {
      llvm::errs() << options.outputs << ": error: " << error << "\n";
      return driver::kUserError;
    }
  }
  return driver::kSuccess;
}

} // namespace nabla::commands
