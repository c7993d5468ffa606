//===- BenchCommand.cpp - `nabla bench` -----------------------------------===//
//
// Compiles the script's training step (its forward step when it has no
// loss) for a batch size, reports the time of each compiler stage, then runs
// the step on random data and reports its steady-state rate. Every symbolic
// size is the batch size unless --size sets it.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "Driver.h"
#include "Executor.h"

#include "codegen/Target.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <chrono>

namespace nabla::commands {

int bench(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  ir::Function *fn = driver::stepToCompile(c);
  if (!fn || (!options.interp && !driver::optimize(c, *fn, options)))
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

  std::optional<std::vector<Tensor>> args = driver::drawArguments(*fn, bindings, 0, options.script);
  if (!args)
    return driver::kUserError;
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : *args)
    pointers.push_back(&t);

  // The first run compiles; a few more warm the caches.
  if (!executor->run(*fn, pointers, bindings)) {
    c.diags.flush(llvm::errs());
    return driver::kUserError;
  }
  for (int i = 0; i < 3; ++i)
    executor->run(*fn, pointers, bindings);
  int64_t steps = options.steps ? *options.steps : 100;
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i)
    executor->run(*fn, pointers, bindings);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  llvm::raw_ostream &os = llvm::outs();
  os << fmt::format("@{} of {} for {}, -O{}, {}\n\n", fn->name, options.script,
                    codegen::describeBindings(bindings), options.optLevel,
                    options.interp ? "the interpreter" : codegen::hostTarget().cpu);
  driver::printTimes(c, executor->compiler() ? &executor->compiler()->times() : nullptr, os);
  double perStep = seconds / double(steps);
  os << fmt::format("\n{} steps: {:.1f} us per step, {:.0f} steps/s, {:.0f} samples/s\n", steps,
                    perStep * 1e6, 1 / perStep, double(batch) / perStep);
  return driver::kSuccess;
}

} // namespace nabla::commands
