#include "Driver.h"

#include "frontend/Lower.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Labels.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Adjoint.h"
#include "passes/OptimizerUpdate.h"
#include "passes/Pipeline.h"
#include "passes/StepVariants.h"
#include "support/Random.h"
#include "training/Initializers.h"

#include <fmt/format.h>
#include <llvm/Support/Casting.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

#include <chrono>

namespace nabla::driver {

namespace {
/// Adds the time from construction to destruction to a stage.
class StageTimer {
public:
  StageTimer(StageTimes &times, std::string stage)
      : times_(times), stage_(std::move(stage)), start_(std::chrono::steady_clock::now()) {}
  ~StageTimer() {
    times_.add(stage_,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

private:
  StageTimes &times_;
  std::string stage_;
  std::chrono::steady_clock::time_point start_;
};
} // namespace

void StageTimes::add(const std::string &stage, double seconds) {
  for (auto &[name, total] : stages)
    if (name == stage) {
      total += seconds;
      return;
    }
  stages.emplace_back(stage, seconds);
}

namespace {
thread_local llvm::raw_ostream *errorStream = nullptr, *outputStream = nullptr;
thread_local const std::string *scriptText = nullptr;
} // namespace

llvm::raw_ostream &errs() { return errorStream ? *errorStream : llvm::errs(); }
void setErrorStream(llvm::raw_ostream *os) { errorStream = os; }
llvm::raw_ostream &outs() { return outputStream ? *outputStream : llvm::outs(); }
void setOutputStream(llvm::raw_ostream *os) { outputStream = os; }
void setScriptText(const std::string *text) { scriptText = text; }

bool isIRFile(const std::string &path) { return llvm::StringRef(path).ends_with(".nnir"); }

bool readScript(const cli::Options &options, Compilation &c) {
  if (scriptText) {
    c.file = c.sources.addBuffer(options.script, *scriptText);
    return true;
  }
  std::string error;
  c.file = c.sources.addFile(options.script, error);
  if (c.file == 0) {
    driver::errs() << "nabla: error: " << error << "\n";
    return false;
  }
  return true;
}

bool parseScript(Compilation &c) {
  c.ast = parseModule(c.sources, c.file, c.diags);
  if (c.diags.hasErrors()) {
    c.diags.flush(driver::errs());
    return false;
  }
  return true;
}

/// Every --set must name a const of the script.
static bool checkOverrides(const cli::Options &options, const ast::Module &module) {
  for (const auto &[name, value] : options.sets) {
    bool found = false;
    for (const ast::StmtPtr &s : module.statements)
      if (const auto *c = llvm::dyn_cast<ast::ConstStmt>(s.get()))
        found |= c->name == name;
    if (!found) {
      driver::errs() << "nabla: error: --set " << name << ": the script has no const named '"
                     << name << "'\n";
      return false;
    }
  }
  return true;
}

bool checkScript(const cli::Options &options, Compilation &c, int &exitCode) {
  exitCode = kUserError;
  if (!readScript(options, c))
    return false;
  // Statements that parsed are checked even when others did not: one run
  // reports the syntax errors and the type errors together.
  {
    StageTimer timer(c.times, "parse");
    c.ast = parseModule(c.sources, c.file, c.diags);
  }
  if (!checkOverrides(options, *c.ast)) {
    c.diags.flush(driver::errs());
    exitCode = kUsageError;
    return false;
  }
  SemaOptions semaOptions;
  semaOptions.constOverrides = options.sets;
  semaOptions.forceF64 = options.f64;
  // Data paths are resolved against the script's folder and kept absolute, so
  // that the IR of the script can be run from anywhere.
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(options.script));
  llvm::sys::fs::make_absolute(dir);
  llvm::sys::path::remove_dots(dir, /*remove_dot_dot=*/true);
  semaOptions.scriptDir = dir.str().str();
  {
    StageTimer timer(c.times, "check");
    c.program = analyze(*c.ast, c.sources, c.diags, semaOptions);
  }
  if (c.diags.hasErrors()) {
    c.diags.flush(driver::errs());
    return false;
  }
  exitCode = kSuccess;
  return true;
}

bool compileToIR(const cli::Options &options, Compilation &c, int &exitCode) {
  if (!isIRFile(options.script)) {
    if (!checkScript(options, c, exitCode))
      return false;
    exitCode = kUserError;
    StageTimer timer(c.times, "lower");
    c.ir = ir::lower(*c.program, c.diags);
    if (!c.ir || !ir::verify(*c.ir, c.diags, "lowering")) {
      c.diags.flush(driver::errs());
      return false;
    }
    exitCode = kSuccess;
    return true;
  }
  exitCode = kUserError;
  if (!options.sets.empty() || options.f64) {
    driver::errs() << "nabla: error: --set and --dtype apply to .nn scripts; a .nnir file is "
                      "already lowered\n";
    exitCode = kUsageError;
    return false;
  }
  if (!readScript(options, c))
    return false;
  StageTimer timer(c.times, "parse");
  c.ir = ir::parseIR(c.sources, c.file, c.diags);
  if (!c.ir) {
    c.diags.flush(driver::errs());
    return false;
  }
  exitCode = kSuccess;
  return true;
}

ir::Function *functionToRun(Compilation &c, bool withGradients) {
  ir::Function *forward = c.ir->lookup(ir::kForwardFunction);
  ir::Function *trainStep = c.ir->lookup(ir::kTrainStepFunction);
  if (!forward && !trainStep) {
    c.diags.error({c.file, 0, 0}, "the IR file holds only @{}: this command needs @{} or @{}",
                  ir::kUpdateFunction, ir::kForwardFunction, ir::kTrainStepFunction);
    c.diags.flush(driver::errs());
    return nullptr;
  }
  if (!withGradients)
    return forward ? forward : trainStep;
  if (trainStep)
    return trainStep;
  StageTimer timer(c.times, "adjoint");
  ir::Function *built = passes::differentiate(*c.ir, *forward, ir::kTrainStepFunction, c.diags);
  if (!built || !ir::verify(*built, c.diags, "the adjoint pass")) {
    c.diags.flush(driver::errs());
    return nullptr;
  }
  return built;
}

const ir::Function *sourceFunction(const Compilation &c) {
  for (const char *name : {ir::kForwardFunction, ir::kTrainStepFunction, ir::kUpdateFunction})
    if (const ir::Function *fn = c.ir->lookup(name))
      return fn;
  return nullptr;
}

OptimizerConfig optimizerFor(const Compilation &c, const cli::Options &options) {
  OptimizerConfig optimizer;
  if (c.ir->train && c.ir->train->optimizer)
    optimizer = *c.ir->train->optimizer;
  else
    optimizer.loc = {c.file, 0, 0};
  if (options.lr)
    optimizer.lr = *options.lr;
  return optimizer;
}

ir::Function *buildUpdate(Compilation &c, const OptimizerConfig &optimizer) {
  // A .nnir file may hold the update already (from dump --emit=update).
  if (ir::Function *given = c.ir->lookup(ir::kUpdateFunction))
    return given;
  const ir::Function *trainStep = functionToRun(c, /*withGradients=*/true);
  if (!trainStep)
    return nullptr;
  StageTimer timer(c.times, "optimizer");
  ir::Function *update = passes::appendOptimizer(*c.ir, *trainStep, optimizer, c.diags);
  if (!update || !ir::verify(*update, c.diags, "the optimizer's update")) {
    c.diags.flush(driver::errs());
    return nullptr;
  }
  return update;
}

ir::Function *stepToCompile(Compilation &c) {
  ir::Function *update = c.ir->lookup(ir::kUpdateFunction);
  if (update && !c.ir->lookup(ir::kForwardFunction) && !c.ir->lookup(ir::kTrainStepFunction))
    return update;
  bool hasLoss = false;
  for (const auto &fn : c.ir->functions)
    hasLoss |= fn->findResult(ir::ResultRole::Loss) != nullptr;
  return functionToRun(c, hasLoss);
}

ir::Function *predictStep(Compilation &c, const cli::Options &options) {
  const ir::Function *source = sourceFunction(c);
  bool hasOutputs =
      source && std::any_of(source->results.begin(), source->results.end(),
                            [](const ir::Result &r) { return r.role == ir::ResultRole::Output; });
  if (!hasOutputs) {
    c.diags.error({c.file, 0, 0}, "the script has no 'output': {} writes the outputs",
                  options.command == cli::Command::Compile ? "compile" : "predict");
    c.diags.flush(driver::errs());
    return nullptr;
  }
  ir::Function &fn =
      *passes::addStepVariant(*c.ir, *source, passes::kPredictFunction, {ir::ResultRole::Output});
  if (!ir::verify(fn, c.diags, "pruning to the outputs")) {
    c.diags.flush(driver::errs());
    return nullptr;
  }
  if (!options.interp && !runIRPipeline(c, fn, options))
    return nullptr;
  return &fn;
}

bool runIRPipeline(Compilation &c, ir::Function &fn, const cli::Options &options) {
  if (options.optLevel == 0 && !options.passes)
    return true;
  std::vector<passes::Pass> pipeline;
  if (options.passes) {
    for (const std::string &name : *options.passes)
      for (const passes::Pass &p : passes::allPasses())
        if (p.name == name)
          pipeline.push_back(p);
  } else {
    pipeline = passes::optimizationPipeline();
  }
  passes::PassOptions passOptions;
  passOptions.printAfterAll = options.printIRAfterAll;
  passOptions.printAfter.insert(options.printIRAfter.begin(), options.printIRAfter.end());
  passOptions.printAfterChange = options.printIRAfterChange;
  passOptions.disabled.insert(options.disabledPasses.begin(), options.disabledPasses.end());
  passes::PassManager manager(std::move(pipeline), passOptions, c.sources, c.diags, driver::errs());
  bool ok = manager.run(fn);
  for (const passes::PassTime &t : manager.times())
    c.times.add("pass " + t.name, t.seconds);
  if (!ok)
    c.diags.flush(driver::errs());
  return ok;
}

std::optional<std::vector<Tensor>> drawArguments(const ir::Function &fn,
                                                 const ir::SymbolBindings &bindings, uint64_t seed,
                                                 const std::string &script) {
  std::vector<Tensor> args;
  for (const auto &arg : fn.args) {
    std::vector<int64_t> shape = *ir::concreteShape(arg->value.type.shape, bindings);
    std::string error;
    if (!checkAllocation(arg->value.type.dtype, shape, error)) {
      driver::errs() << script << ": error: " << arg->value.name << ": " << error << "\n";
      return std::nullopt;
    }
    const std::string &name = arg->value.name;
    if (arg->role == ir::ArgRole::Param) {
      args.push_back(initialize(arg->init, arg->value.type.dtype, shape, seed, name));
      continue;
    }
    Tensor t(arg->value.type.dtype, shape);
    Random random(seed, "input " + name);
    int64_t classes = std::max<int64_t>(2, ir::classCount(fn, &arg->value, bindings));
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, t.dtype() == DType::I32 ? double(random.below(uint64_t(classes))) : random.normal());
    args.push_back(std::move(t));
  }
  return args;
}

bool bindSizes(const ir::Function &fn, const std::vector<std::pair<std::string, int64_t>> &sizes,
               int64_t fallback, ir::SymbolBindings &bindings) {
  for (const auto &arg : fn.args)
    for (const Dim &d : arg->value.type.shape)
      for (const std::string &s : d.symbols())
        bindings[s] = fallback;
  for (const auto &[name, size] : sizes) {
    if (!bindings.count(name)) {
      driver::errs() << "nabla: error: --size " << name << ": the script has no symbolic size '"
                     << name << "'\n";
      return false;
    }
    bindings[name] = size;
  }
  return true;
}

void printTimes(const Compilation &c, const codegen::CompileTimes *codegen, llvm::raw_ostream &os) {
  std::vector<std::pair<std::string, double>> rows = c.times.stages;
  if (codegen) {
    rows.emplace_back("LLVM IR emission", codegen->emit);
    rows.emplace_back("LLVM optimization", codegen->optimize);
    rows.emplace_back("machine code", codegen->machineCode);
  }
  double total = 0;
  os << "stage                  time (ms)\n";
  for (const auto &[stage, seconds] : rows) {
    os << fmt::format("{:<20} {:>11.2f}\n", stage, seconds * 1000);
    total += seconds;
  }
  os << fmt::format("{:<20} {:>11.2f}\n", "total", total * 1000);
  os.flush();
}

std::unique_ptr<codegen::Compiler> createCompiler(const cli::Options &options, bool toRun) {
  codegen::CompileOptions o = compileOptions(options);
  if (std::string why = codegen::whyHostCannotRun(o.target); toRun && !why.empty()) {
    driver::errs() << "nabla: error: " << why << "\n";
    return nullptr;
  }
  std::string error;
  std::unique_ptr<codegen::Compiler> compiler = codegen::Compiler::create(o, error);
  if (!compiler)
    driver::errs() << "nabla: error: cannot start the JIT: " << error << "\n";
  return compiler;
}

codegen::CompileOptions compileOptions(const cli::Options &options) {
  codegen::CompileOptions o;
  o.optLevel = options.optLevel;
  o.verbose = options.verbose;
  o.profile = options.profile;
  std::string error;
  // The name was checked when the command line was parsed.
  if (std::optional<codegen::Target> target = codegen::targetFor(options.cpu, error))
    o.target = *target;
  return o;
}

} // namespace nabla::driver
