//===- BenchCommand.cpp - `nabla bench` -----------------------------------===//
//
// Compiles what training runs — the training step with the optimizer's
// update (the script's optimizer, adam without one) — or the forward step
// when the script has no loss, for a batch size; reports the time of each
// compiler stage; then runs the step on random data and reports its
// steady-state rate. As in training, params and optimizer state live in two
// sets of buffers that swap after each step, so nothing is allocated or
// copied between steps. Every symbolic size is the batch size unless --size
// sets it. --profile compiles the step with a timer around each kernel and
// lists the kernels by their time.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "Driver.h"
#include "Executor.h"

#include "codegen/Target.h"
#include "ir/Interpreter.h"
#include "runtime/KernelProfile.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <chrono>

namespace nabla::commands {

namespace {

/// The function bench times: the update when there is a loss.
ir::Function *functionToTime(driver::Compilation &c, const cli::Options &options) {
  bool hasLoss = false;
  for (const auto &fn : c.ir->functions)
    hasLoss |= fn->findResult(ir::ResultRole::Loss) != nullptr;
  if (!hasLoss)
    return driver::stepToCompile(c);
  return driver::buildUpdate(c, driver::optimizerFor(c, options));
}

/// Two sets of arguments, and for each the result tensors of a step that
/// reads it: new params and state go into the other set.
struct StepBuffers {
  std::vector<Tensor> sets[2];
  std::vector<Tensor> scalars; ///< the other results, one per result
  std::vector<const Tensor *> args[2];
  std::vector<Tensor *> results[2];
};

bool prepare(const ir::Function &fn, const ir::SymbolBindings &bindings, const std::string &script,
             StepBuffers &s) {
  std::optional<std::vector<Tensor>> drawn = driver::drawArguments(fn, bindings, 0, script);
  if (!drawn)
    return false;
  s.sets[0] = std::move(*drawn);
  for (size_t i = 0; i < fn.args.size(); ++i)
    if (fn.args[i]->role == ir::ArgRole::State)
      s.sets[0][i] =
          Tensor(s.sets[0][i].dtype(), s.sets[0][i].shape()); // zeros, as training starts
  for (const Tensor &t : s.sets[0])
    s.sets[1].push_back(t.clone());
  for (const ir::Result &r : fn.results)
    s.scalars.emplace_back(r.value->type.dtype, *ir::concreteShape(r.value->type.shape, bindings));
  for (int set = 0; set < 2; ++set) {
    for (const Tensor &t : s.sets[set])
      s.args[set].push_back(&t);
    for (size_t j = 0; j < fn.results.size(); ++j) {
      const ir::Result &r = fn.results[j];
      Tensor *target = &s.scalars[j];
      ir::ArgRole role = r.role == ir::ResultRole::State ? ir::ArgRole::State : ir::ArgRole::Param;
      if (r.role == ir::ResultRole::Update || r.role == ir::ResultRole::State)
        for (size_t i = 0; i < fn.args.size(); ++i)
          if (fn.args[i]->role == role && fn.args[i]->value.name == r.name)
            target = &s.sets[1 - set][i];
      s.results[set].push_back(target);
    }
  }
  return true;
}

/// The kernels by time per step, longest first, with the ops each computes.
void printProfile(const codegen::CompiledStep &step, int64_t steps, llvm::raw_ostream &os) {
  std::vector<double> seconds = kernelProfileSeconds();
  const std::vector<codegen::KernelInfo> &kernels = step.kernels();
  double total = 0;
  for (double s : seconds)
    total += s;
  std::vector<size_t> order(kernels.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return seconds[a] > seconds[b] || (seconds[a] == seconds[b] && a < b);
  });
  os << fmt::format("\n{:>10}  {:>5}  kernel\n", "us/step", "%");
  for (size_t u : order) {
    std::string ops = kernels[u].description;
    std::replace(ops.begin(), ops.end(), '\n', ' ');
    os << fmt::format("{:>10.2f}  {:>5.1f}  {}  {}\n", seconds[u] / double(steps) * 1e6,
                      total > 0 ? 100 * seconds[u] / total : 0.0, kernels[u].name, ops);
  }
}

} // namespace

int bench(const cli::Options &options) {
  if (options.profile && options.interp) {
    driver::errs() << "nabla: error: --profile times compiled kernels; it cannot be used with "
                      "--interp\n";
    return driver::kUsageError;
  }
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  ir::Function *fn = functionToTime(c, options);
  if (!fn || (!options.interp && !driver::runIRPipeline(c, *fn, options)))
    return driver::kUserError;
  int64_t batch = options.batch                       ? *options.batch
                  : c.ir->train && c.ir->train->batch ? *c.ir->train->batch
                                                      : 32;
  ir::SymbolBindings bindings;
  if (!driver::bindSizes(*fn, options.sizes, batch, bindings))
    return driver::kUsageError;
  std::unique_ptr<driver::Executor> executor = driver::Executor::create(options, c);
  if (!executor)
    return driver::kUserError;
  StepBuffers buffers;
  if (!prepare(*fn, bindings, options.script, buffers))
    return driver::kUserError;

  // One step: compiled once, run in place; the interpreter allocates.
  codegen::CompiledStep *step = nullptr;
  if (codegen::Compiler *compiler = executor->compiler()) {
    step = compiler->compile(*fn, bindings, c.sources, c.diags);
    if (!step) {
      c.diags.flush(driver::errs());
      return driver::kUserError;
    }
  }
  int set = 0;
  auto run = [&]() -> bool {
    bool ok = step ? step->runInto(buffers.args[set], buffers.results[set], c.diags)
                   : executor->run(*fn, buffers.args[set], bindings).has_value();
    if (step)
      set = 1 - set;
    return ok;
  };
  // A few runs warm the caches.
  for (int i = 0; i < 3; ++i)
    if (!run()) {
      c.diags.flush(driver::errs());
      return driver::kUserError;
    }
  int64_t steps = options.steps ? *options.steps : 100;
  if (step)
    resetKernelProfile(step->kernels().size());
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i)
    run();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  llvm::raw_ostream &os = llvm::outs();
  os << fmt::format("@{} of {} for {}, -O{}, {}\n\n", fn->name, options.script,
                    codegen::describeBindings(bindings), options.optLevel,
                    options.interp ? "the interpreter" : executor->compiler()->target().cpu);
  driver::printTimes(c, executor->compiler() ? &executor->compiler()->times() : nullptr, os);
  double perStep = seconds / double(steps);
  os << fmt::format("\n{} steps: {:.2f} us per step, {:.0f} steps/s, {:.0f} samples/s\n", steps,
                    perStep * 1e6, 1 / perStep, double(batch) / perStep);
  if (options.profile && step)
    printProfile(*step, steps, os);
  return driver::kSuccess;
}

} // namespace nabla::commands
