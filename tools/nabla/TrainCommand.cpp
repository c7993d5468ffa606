//===- TrainCommand.cpp - `nabla train` -----------------------------------===//
//
// Builds the training step with the optimizer's update inside it, loads the
// training (and test) data, starts the params from their initializers or
// from --init, and hands everything to the Trainer. The script's train block
// gives the settings; the command line overrides them. Under mpirun the
// process is one rank of a data-parallel run: the Trainer's step is then
// training/DataParallelStep's, and rank 0 alone reports and writes files.
//
//===----------------------------------------------------------------------===//
#include "ArgumentLoader.h"
#include "Commands.h"
#include "Driver.h"

#include "data/DataSources.h"
#include "ir/Verifier.h"
#include "passes/Jacobian.h"
#include "passes/OptimizerUpdate.h"
#include "passes/StepVariants.h"
#include "training/Checkpoint.h"
#include "training/Communicator.h"
#include "training/DataParallelStep.h"
#include "training/Initializers.h"
#include "training/LevenbergMarquardt.h"
#include "training/Trainer.h"

#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

#include <unistd.h>

namespace nabla::commands {

namespace {

using Sources = std::vector<std::pair<std::string, DataSource>>;

/// Replaces or adds the sources named on the command line (--data, --test).
bool overrideSources(Sources &sources, const std::vector<cli::NamedPath> &files, const char *option,
                     const ir::Function &step) {
  for (const auto &[name, file] : files) {
    if (!step.findArgument(ir::ArgRole::Input, name)) {
      std::string inputs;
      for (const ir::Argument *a : step.arguments(ir::ArgRole::Input))
        inputs += (inputs.empty() ? "" : ", ") + a->value.name;
      driver::errs() << fmt::format("nabla: error: --{} {}={}: the training step has no input "
                                    "'{}' (its inputs: {})\n",
                                    option, name, file, name, inputs.empty() ? "none" : inputs);
      return false;
    }
    std::erase_if(sources, [&](const auto &s) { return s.first == name; });
    sources.emplace_back(name, sourceForFile(file));
  }
  return true;
}

/// Files are written after the first epoch: a folder that is missing or
/// read-only is reported before training starts, not after.
bool checkOutputFolder(const std::string &path) {
  if (path.empty())
    return true;
  std::string folder = llvm::sys::path::parent_path(path).str();
  if (folder.empty())
    folder = ".";
  if (!llvm::sys::fs::is_directory(folder)) {
    driver::errs() << path << ": error: the folder " << folder << " does not exist\n";
    return false;
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    driver::errs() << path << ": error: the folder " << folder << " is not writable\n";
    return false;
  }
  if (llvm::sys::fs::is_directory(path)) {
    driver::errs() << path << ": error: is a folder; name a file\n";
    return false;
  }
  return true;
}

/// Params from their initializers; optimizer state at zero.
void initializeArguments(const ir::Function &step, uint64_t seed,
                         std::map<std::string, Tensor> &params,
                         std::map<std::string, Tensor> &state) {
  for (const auto &arg : step.args) {
    if (arg->role == ir::ArgRole::Input)
      continue;
    std::vector<int64_t> shape = *ir::concreteShape(arg->value.type.shape, {});
    if (arg->role == ir::ArgRole::Param && !params.count(arg->value.name))
      params.emplace(arg->value.name,
                     initialize(arg->init, arg->value.type.dtype, shape, seed, arg->value.name));
    else if (arg->role == ir::ArgRole::State && !state.count(arg->value.name))
      state.emplace(arg->value.name, Tensor(arg->value.type.dtype, shape));
  }
}

/// Every param and state value must have a known shape and fit in memory.
bool checkArguments(const ir::Function &step, DiagnosticEngine &diags) {
  for (const auto &arg : step.args) {
    if (arg->role == ir::ArgRole::Input)
      continue;
    std::optional<std::vector<int64_t>> shape = ir::concreteShape(arg->value.type.shape, {});
    std::string error;
    if (!shape) {
      diags.error(arg->loc, "training needs every size of {} '{}' ({}) known",
                  ir::roleName(arg->role), arg->value.name, arg->value.type.str());
      return false;
    }
    if (!checkAllocation(arg->value.type.dtype, *shape, error)) {
      diags.error(arg->loc, "{} '{}': {}", ir::roleName(arg->role), arg->value.name, error);
      return false;
    }
  }
  return true;
}

/// Loads --init: the params, and the optimizer's state and epoch count when
/// the file was saved by a run with the same optimizer.
bool loadInit(const std::string &path, const ir::Function &step, const std::string &optimizer,
              DiagnosticEngine &diags, std::map<std::string, Tensor> &params,
              std::map<std::string, Tensor> &state, int64_t &epochsDone, bool quiet) {
  std::string error;
  std::optional<Checkpoint> checkpoint = loadCheckpoint(path, error);
  if (!checkpoint) {
    diags.fileError(path, "{}", error);
    return false;
  }
  driver::ArgumentLoader loader(step, diags);
  if (!loader.loadArguments(ir::ArgRole::Param, checkpoint->params, path))
    return false;
  params = loader.take(ir::ArgRole::Param);
  bool resume = !checkpoint->optimizer.empty() && checkpoint->optimizer == optimizer;
  if (resume) {
    if (!loader.loadArguments(ir::ArgRole::State, checkpoint->state, path))
      return false;
    state = loader.take(ir::ArgRole::State);
    epochsDone = checkpoint->epochs;
  } else if (!checkpoint->optimizer.empty() && !quiet) {
    driver::errs() << fmt::format("nabla: note: {} was saved by a run with {}; {} starts afresh\n",
                                  path, checkpoint->optimizer, optimizer);
  }
  return true;
}

/// What lm runs besides the update: the forward step with its residual, and
/// the rows of the residual's Jacobian (passes/Jacobian.h), optimized.
struct LmFunctions {
  ir::Function *forward = nullptr, *rows = nullptr;
};
std::optional<LmFunctions> buildLmFunctions(const cli::Options &options, driver::Compilation &c,
                                            const ir::Function &source) {
  if (!source.findResult(ir::ResultRole::Residual, ir::kResidualName)) {
    c.diags.error({c.file, 0, 0},
                  "lm needs the forward step with its residual: a .nn script, or the IR that "
                  "dump --emit=ir prints");
    c.diags.flush(driver::errs());
    return std::nullopt;
  }
  LmFunctions f;
  f.forward = passes::addStepVariant(
      *c.ir, source, "lm_forward",
      {ir::ResultRole::Loss, ir::ResultRole::Metric, ir::ResultRole::Residual});
  f.rows = passes::addResidualRows(*c.ir, source, "lm_rows", c.diags);
  if (!f.rows || !ir::verify(*f.forward, c.diags, "lm's forward step") ||
      !ir::verify(*f.rows, c.diags, "lm's Jacobian rows") ||
      !driver::runIRPipeline(c, *f.forward, options) ||
      !driver::runIRPipeline(c, *f.rows, options)) {
    c.diags.flush(driver::errs());
    return std::nullopt;
  }
  return f;
}

/// What a data-parallel run compiles instead of the fused update: the
/// training step's loss, metrics and gradients, and the optimizer's update
/// alone (training/DataParallelStep.h), optimized.
struct DataParallelFunctions {
  ir::Function *gradients = nullptr, *apply = nullptr;
};
std::optional<DataParallelFunctions> buildDataParallelFunctions(const cli::Options &options,
                                                                driver::Compilation &c,
                                                                const OptimizerConfig &optimizer) {
  DataParallelFunctions f;
  ir::Function *trainStep = driver::functionToRun(c, true);
  if (!trainStep)
    return std::nullopt;
  f.gradients =
      passes::addStepVariant(*c.ir, *trainStep, "gradients",
                             {ir::ResultRole::Loss, ir::ResultRole::Metric, ir::ResultRole::Grad});
  f.apply = passes::applyGradients(*c.ir, *trainStep, optimizer, c.diags, "apply_gradients");
  if (!f.apply || !ir::verify(*f.gradients, c.diags, "the gradients step") ||
      !ir::verify(*f.apply, c.diags, "the update of summed gradients") ||
      !driver::runIRPipeline(c, *f.gradients, options) ||
      !driver::runIRPipeline(c, *f.apply, options)) {
    c.diags.flush(driver::errs());
    return std::nullopt;
  }
  return f;
}

/// The run's settings: the train block's, overridden by the command line.
TrainSettings settingsFor(const cli::Options &options, const TrainConfig &config,
                          const OptimizerConfig &optimizer) {
  TrainSettings settings;
  settings.epochs = options.epochs.value_or(config.epochs.value_or(1));
  settings.batch = options.batch.value_or(config.batch.value_or(32));
  settings.seed = options.seed.value_or(uint64_t(config.seed));
  settings.shuffle = config.shuffle;
  settings.quiet = options.quiet;
  settings.live = driver::errs().is_displayed();
  settings.optimizer = optimizerName(optimizer.kind);
  settings.savePath = options.save;
  settings.metricsPath = options.metrics;
  settings.plotPath = options.plot;
  settings.title = llvm::sys::path::filename(options.script).str();
  return settings;
}

int trainOnRanks(const cli::Options &options, Communicator *world);

} // namespace

int train(const cli::Options &options) {
  if (options.interp) {
    driver::errs() << "nabla: error: --interp: train runs compiled steps; the interpreter is for "
                      "eval and predict\n";
    return driver::kUsageError;
  }
  // Under mpirun: one rank of a data-parallel run. Any error ends the job.
  std::string mpiError;
  std::unique_ptr<Communicator> world = Communicator::fromEnvironment(mpiError);
  if (!mpiError.empty()) {
    driver::errs() << "nabla: error: " << mpiError << "\n";
    return driver::kUserError;
  }
  // Even one rank under mpirun runs the split step (which measures its cost).
  if (world) {
    int result = trainOnRanks(options, world.get());
    if (result != 0)
      world->abort(result);
    return result;
  }
  return trainOnRanks(options, nullptr);
}

namespace {

/// `nabla train` on this process, one of `world`'s ranks (alone: null).
int trainOnRanks(const cli::Options &options, Communicator *world) {
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  const ir::Function *source = driver::sourceFunction(c);
  if (!source || !source->findResult(ir::ResultRole::Loss)) {
    c.diags.error({c.file, 0, 0}, "the script has no 'loss': training needs one");
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  if (options.lr && c.ir->lookup(ir::kUpdateFunction)) {
    driver::errs() << "nabla: error: --lr: " << options.script << " holds @" << ir::kUpdateFunction
                   << ", whose learning rate is part of its ops\n";
    return driver::kUsageError;
  }
  OptimizerConfig optimizer = driver::optimizerFor(c, options);
  bool lm = optimizer.kind == OptimizerConfig::Kind::Lm;
  if (lm && options.lr) {
    driver::errs() << "nabla: error: --lr: lm has no learning rate; its step size follows the "
                      "damping, lm(mu=..., factor=...)\n";
    return driver::kUsageError;
  }
  ir::Function *update = driver::buildUpdate(c, optimizer);
  if (!update)
    return driver::kUserError;
  std::optional<LmFunctions> lmFunctions;
  if (lm && !(lmFunctions = buildLmFunctions(options, c, *source)))
    return driver::kUserError;

  TrainConfig config = c.ir->train.value_or(TrainConfig{});
  if (!overrideSources(config.data, options.data, "data", *source) ||
      !overrideSources(config.test, options.test, "test", *source))
    return driver::kUsageError;

  if (!checkOutputFolder(options.save) || !checkOutputFolder(options.metrics) ||
      !checkOutputFolder(options.plot))
    return driver::kUserError;

  TrainSettings settings = settingsFor(options, config, optimizer);
  std::optional<DataParallelFunctions> parallel;
  if (world) {
    if (lm) {
      c.diags.error(optimizer.loc, "lm does not run data-parallel: its solve needs the whole "
                                   "Jacobian on one process; train it without mpirun");
      c.diags.flush(driver::errs());
      return driver::kUserError;
    }
    if (settings.batch < world->size()) {
      driver::errs() << fmt::format("nabla: error: the batch ({}) is smaller than the number of "
                                    "ranks ({}): every rank needs examples\n",
                                    settings.batch, world->size());
      return driver::kUserError;
    }
    if (!(parallel = buildDataParallelFunctions(options, c, optimizer)))
      return driver::kUserError;
    // Rank 0 alone reports and writes files.
    if (world->rank() != 0) {
      settings.quiet = true;
      settings.savePath.clear();
      settings.metricsPath.clear();
      settings.plotPath.clear();
    }
  }

  ir::Function *evaluate = nullptr;
  if (!config.test.empty())
    evaluate = passes::addStepVariant(*c.ir, *source, passes::kEvaluateFunction,
                                      {ir::ResultRole::Loss, ir::ResultRole::Metric});
  if ((evaluate && !ir::verify(*evaluate, c.diags, "the evaluation step")) ||
      !checkArguments(*update, c.diags) || !driver::runIRPipeline(c, *update, options) ||
      (evaluate && !driver::runIRPipeline(c, *evaluate, options))) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  std::optional<bool> batched = inputsAreBatched(*update, c.diags);
  if (!batched) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }

  // Load everything before stopping, so that one run reports every bad file.
  std::optional<Dataset> train = Dataset::load(*update, config.data, *batched, "training", c.diags);
  std::optional<Dataset> test;
  if (evaluate)
    test = Dataset::load(*evaluate, config.test, *batched, "test", c.diags);
  std::map<std::string, Tensor> params, state;
  bool initLoaded =
      options.init.empty() || loadInit(options.init, *update, settings.optimizer, c.diags, params,
                                       state, settings.firstEpoch, options.quiet);
  if (!train || (evaluate && !test) || !initLoaded) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  initializeArguments(*update, settings.seed, params, state);

  std::unique_ptr<codegen::Compiler> compiler = driver::createCompiler(options, true);
  if (!compiler)
    return driver::kUserError;
  if (parallel && !*batched) {
    driver::errs() << "nabla: error: the script's inputs have no batch axis: a data-parallel "
                      "run shares the examples of a batch among the ranks\n";
    return driver::kUserError;
  }
  if (!settings.quiet)
    llvm::errs() << fmt::format( // progress, not an error
        "training {}: {} examples{}, batch {}{}, {}, {} epoch{}{}\n", options.script, train->size(),
        test ? fmt::format(" ({} test)", test->size()) : "", *batched ? settings.batch : 1,
        world ? fmt::format(" over {} ranks", world->size()) : "", optimizerSummary(optimizer),
        settings.epochs, settings.epochs == 1 ? "" : "s",
        settings.firstEpoch
            ? fmt::format(", resuming after epoch {} of {}", settings.firstEpoch, options.init)
            : "");
  Trainer trainer(*update, evaluate, *compiler, c.sources, c.diags);
  std::optional<LevenbergMarquardt> solver;
  if (lm) {
    solver.emplace(*lmFunctions->forward, *lmFunctions->rows, *update, optimizer, *compiler,
                   c.sources, c.diags);
    trainer.overrideStep([&](int64_t n, const ir::SymbolBindings &bindings,
                             const std::vector<const Tensor *> &args,
                             const std::vector<Tensor *> &results) {
      return solver->step(n, bindings, args, results);
    });
  }
  std::optional<DataParallelStep> step;
  if (parallel) {
    step.emplace(*update, *parallel->gradients, *parallel->apply, *compiler, c.sources, c.diags,
                 *world);
    trainer.overrideStep(
        [&](int64_t n, const ir::SymbolBindings &bindings, const std::vector<const Tensor *> &args,
            const std::vector<Tensor *> &results) { return (*step)(n, bindings, args, results); });
    trainer.distribute(world->rank(), world->size(), [&](std::vector<double> &sums) {
      world->sum(sums.data(), int64_t(sums.size()));
    });
  }
  int result = trainer.run(settings, *train, test ? &*test : nullptr, *batched, std::move(params),
                           std::move(state));
  if (step && options.verbose >= 1 && result == 0)
    llvm::errs() << fmt::format(
        "nabla: note: rank {} of {}: {} steps in {:.3f} s, {:.3f} s of "
        "them ({:.1f}%) in the allreduce\n",
        world->rank(), world->size(), step->steps(), step->stepSeconds(), step->allreduceSeconds(),
        100 * step->allreduceSeconds() / std::max(1e-9, step->stepSeconds()));
  if (options.timePasses)
    driver::printTimes(c, &compiler->times(), driver::errs());
  c.diags.flush(driver::errs());
  return result;
}

} // namespace

} // namespace nabla::commands
