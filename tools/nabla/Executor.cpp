#include "Executor.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::driver {

std::unique_ptr<Executor> Executor::create(const cli::Options &options, Compilation &c) {
  std::unique_ptr<Executor> e(new Executor(c));
  if (options.interp)
    return e;
  codegen::CompileOptions compileOptions;
  compileOptions.optLevel = options.optLevel;
  compileOptions.verbose = options.verbose;
  std::string error;
  e->compiler_ = codegen::Compiler::create(compileOptions, error);
  if (!e->compiler_) {
    llvm::errs() << "nabla: error: cannot start the JIT: " << error << "\n";
    return nullptr;
  }
  return e;
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

} // namespace nabla::driver
