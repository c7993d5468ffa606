//===- EvalCommand.cpp - `nabla eval` -------------------------------------===//
//
// One step on the data fed in: prints `loss: VALUE` and one line per metric;
// --outputs writes every output, metric and the loss; --grads writes the
// gradient of the loss with respect to every param (the adjoint pass's train
// step). The JIT runs the step, or the reference interpreter under --interp.
//
//===----------------------------------------------------------------------===//
#include "ArgumentLoader.h"
#include "Commands.h"
#include "Driver.h"
#include "Executor.h"

#include "data/TensorFiles.h"
#include "ir/Interpreter.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::commands {

int eval(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  bool withGradients = !options.grads.empty();
  ir::Function *found = driver::functionToRun(c, withGradients);
  // The interpreter runs the step as written; the JIT runs it optimized.
  if (!found || (!options.interp && !driver::runIRPipeline(c, *found, options)))
    return driver::kUserError;
  const ir::Function &fn = *found;

  std::optional<std::vector<Tensor>> results =
      driver::runOnFiles(options, c, fn, options.feeds, exitCode);
  if (!results)
    return exitCode;

  // The loss first, then the metrics in script order.
  std::vector<std::pair<std::string, const Tensor *>> written;
  for (ir::ResultRole role : {ir::ResultRole::Loss, ir::ResultRole::Metric})
    for (size_t i = 0; i < fn.results.size(); ++i)
      if (fn.results[i].role == role)
        llvm::outs() << (role == ir::ResultRole::Loss ? "loss" : fn.results[i].name) << ": "
                     << driver::formatScalar((*results)[i]) << "\n";
  std::vector<std::pair<std::string, const Tensor *>> grads;
  for (size_t i = 0; i < fn.results.size(); ++i) {
    const ir::Result &r = fn.results[i];
    if (r.role == ir::ResultRole::Grad)
      grads.emplace_back(r.name, &(*results)[i]);
    else
      written.emplace_back(r.role == ir::ResultRole::Loss ? "loss" : r.name, &(*results)[i]);
  }
  llvm::outs().flush();
  for (const auto &[path, tensors] :
       {std::make_pair(options.outputs, written), std::make_pair(options.grads, grads)}) {
    std::string error;
    if (!path.empty() && !writeSafetensors(path, tensors, error)) {
      driver::errs() << path << ": error: " << error << "\n";
      return driver::kUserError;
    }
  }
  return driver::kSuccess;
}

} // namespace nabla::commands
