#include "Executor.h"
#include "ArgumentLoader.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::driver {

std::unique_ptr<Executor> Executor::create(const cli::Options &options, Compilation &c) {
  std::unique_ptr<Executor> e(new Executor(c));
  if (options.interp)
    return e;
  e->compiler_ = createCompiler(options, true);
  return e->compiler_ ? std::move(e) : nullptr;
}

std::optional<std::vector<Tensor>> Executor::run(const ir::Function &fn,
                                                 const std::vector<const Tensor *> &args,
                                                 const ir::SymbolBindings &bindings) {
  if (!compiler_)
    return ir::Interpreter(c_.diags).run(fn, args, bindings);
  codegen::CompiledStep *step = compiler_->compile(fn, bindings, c_.sources, c_.diags);
  if (!step)
    return std::nullopt;
  return step->run(args, c_.diags);
}

bool loadFromFiles(const cli::Options &options, Compilation &c, ArgumentLoader &loader,
                   const std::vector<cli::NamedPath> &feeds, int &exitCode) {
  exitCode = kUserError;
  bool hasParams = !loader.function().arguments(ir::ArgRole::Param).empty();
  if (hasParams && options.params.empty()) {
    driver::errs() << "nabla: error: the script has params: give them with --params FILE\n";
    exitCode = kUsageError;
    return false;
  }
  bool paramsLoaded = !hasParams || loader.loadParams(options.params);
  bool feedsLoaded = loader.loadFeeds(feeds);
  if (!paramsLoaded || !feedsLoaded || !loader.checkLabels()) {
    c.diags.flush(driver::errs());
    return false;
  }
  exitCode = kSuccess;
  return true;
}

std::optional<std::vector<Tensor>> runOnFiles(const cli::Options &options, Compilation &c,
                                              const ir::Function &fn,
                                              const std::vector<cli::NamedPath> &feeds,
                                              int &exitCode) {
  ArgumentLoader loader(fn, c.diags);
  if (!loadFromFiles(options, c, loader, feeds, exitCode))
    return std::nullopt;
  exitCode = kUserError;
  std::unique_ptr<Executor> executor = Executor::create(options, c);
  if (!executor)
    return std::nullopt;
  std::optional<std::vector<Tensor>> results =
      executor->run(fn, loader.arguments(), loader.bindings());
  if (options.timePasses)
    printTimes(c, executor->compiler() ? &executor->compiler()->times() : nullptr, driver::errs());
  if (!results) {
    c.diags.flush(driver::errs());
    return std::nullopt;
  }
  exitCode = kSuccess;
  return results;
}

} // namespace nabla::driver
