#include "python/Network.h"

#include "data/TensorFiles.h"
#include "ir/Labels.h"
#include "ir/Shapes.h"
#include "runtime/ThreadPool.h"
#include "tools/nabla/ArgumentLoader.h"
#include "tools/nabla/Commands.h"
#include "training/Checkpoint.h"
#include "training/Initializers.h"

#include <fmt/format.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::python {

namespace {

/// For as long as it lives, the calling thread's commands report errors
/// into `errors`, print into `output`, and read the script from `text`.
class Redirect {
public:
  Redirect(llvm::raw_ostream &errors, const std::optional<std::string> &text,
           llvm::raw_ostream *output = nullptr) {
    driver::setErrorStream(&errors);
    driver::setOutputStream(output);
    driver::setScriptText(text ? &*text : nullptr);
  }
  ~Redirect() {
    driver::setErrorStream(nullptr);
    driver::setOutputStream(nullptr);
    driver::setScriptText(nullptr);
  }
  Redirect(const Redirect &) = delete;
  Redirect &operator=(const Redirect &) = delete;
};

/// "(3, 5)": a shape as NumPy prints it.
std::string numpyShape(const std::vector<int64_t> &shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

/// Removes a folder of temporary files when it goes.
struct TemporaryFolder {
  llvm::SmallString<128> path;
  ~TemporaryFolder() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
  std::string file(const std::string &name) const { return (path + "/" + name).str(); }
};

/// Reads the metrics CSV that `nabla train --metrics` writes.
std::vector<EpochMetrics> readMetrics(const std::string &path) {
  std::vector<EpochMetrics> epochs;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return epochs;
  llvm::SmallVector<llvm::StringRef, 0> lines, header;
  (*buffer)->getBuffer().split(lines, '\n', -1, false);
  if (lines.empty())
    return epochs;
  lines[0].split(header, ',');
  for (size_t i = 1; i < lines.size(); ++i) {
    llvm::SmallVector<llvm::StringRef, 0> cells;
    lines[i].split(cells, ',');
    EpochMetrics epoch;
    for (size_t k = 0; k < cells.size() && k < header.size(); ++k) {
      double value = 0;
      if (!cells[k].trim().getAsDouble(value))
        epoch.emplace_back(header[k].trim().str(), value);
    }
    epochs.push_back(std::move(epoch));
  }
  return epochs;
}

} // namespace

std::unique_ptr<Network> Network::compile(const std::string &path, const std::string *text,
                                          const NetworkOptions &options, Failure &failure) {
  if (!text && !llvm::sys::fs::exists(path)) {
    failure = {Failure::Missing, path + ": no such file"};
    return nullptr;
  }
  std::unique_ptr<Network> net(new Network());
  net->path_ = path;
  if (text)
    net->text_ = *text;
  net->options_ = options;
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  Redirect redirect(errorStream, net->text_);
  cli::Options o = net->commandOptions(cli::Command::Check);
  int exitCode = 0;
  if (!driver::compileToIR(o, net->c_, exitCode)) {
    net->c_.diags.flush(errorStream);
    failure = {exitCode == driver::kUsageError ? Failure::Value : Failure::Compile, errors};
    return nullptr;
  }
  net->source_ = driver::sourceFunction(net->c_);
  if (!net->source_) {
    failure = {Failure::Compile, path + ": error: the IR file holds no function to run\n"};
    return nullptr;
  }
  net->compiler_ = driver::createCompiler(o, true);
  if (!net->compiler_) {
    failure = {Failure::Value, errors};
    return nullptr;
  }
  if (options.threads > 0)
    setParallelThreads(options.threads);
  for (const ir::Argument *arg : net->source_->arguments(ir::ArgRole::Param))
    if (!ir::concreteShape(arg->value.type.shape, {})) {
      failure = {Failure::Compile,
                 fmt::format("{}: error: param '{}' ({}) needs every size known\n", path,
                             arg->value.name, arg->value.type.str())};
      return nullptr;
    }
  net->init(net->c_.ir->train ? uint64_t(net->c_.ir->train->seed) : 0);
  return net;
}

cli::Options Network::commandOptions(cli::Command command) const {
  cli::Options o;
  o.command = command;
  o.script = path_;
  o.sets = options_.sets;
  o.f64 = options_.f64;
  o.threads = options_.threads;
  o.cpu = options_.cpu;
  return o;
}

std::string Network::takeDiagnostics() {
  std::string text;
  llvm::raw_string_ostream os(text);
  c_.diags.flush(os);
  return text;
}

std::vector<std::pair<std::string, const Tensor *>> Network::params() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, const Tensor *>> out;
  for (const ir::Argument *arg : source_->arguments(ir::ArgRole::Param))
    out.emplace_back(arg->value.name, &params_.at(arg->value.name));
  return out;
}

std::optional<DType> Network::inputDType(const std::string &name) const {
  if (const ir::Argument *arg = source_->findArgument(ir::ArgRole::Input, name))
    return arg->value.type.dtype;
  return std::nullopt;
}

std::string Network::inputNames() const {
  std::string names;
  for (const ir::Argument *arg : source_->arguments(ir::ArgRole::Input))
    names += (names.empty() ? "" : ", ") + arg->value.name;
  return names.empty() ? "none" : names;
}

std::vector<std::pair<std::string, std::string>> Network::inputTypes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ir::Argument *arg : source_->arguments(ir::ArgRole::Input))
    out.emplace_back(arg->value.name, arg->value.type.str());
  return out;
}

std::vector<std::pair<std::string, std::string>> Network::outputTypes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ir::Result &r : source_->results)
    if (r.role == ir::ResultRole::Output)
      out.emplace_back(r.name, r.value->type.str());
  return out;
}

void Network::init(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  params_.clear();
  state_.clear();
  epochsDone_ = 0;
  for (const ir::Argument *arg : source_->arguments(ir::ArgRole::Param))
    params_.emplace(arg->value.name, initialize(arg->init, arg->value.type.dtype,
                                                *ir::concreteShape(arg->value.type.shape, {}), seed,
                                                arg->value.name));
}

bool Network::load(const std::string &path, Failure &failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string error;
  std::optional<Checkpoint> checkpoint = loadCheckpoint(path, error);
  if (!checkpoint) {
    failure = {Failure::Value, fmt::format("{}: error: {}", path, error)};
    return false;
  }
  driver::ArgumentLoader loader(*source_, c_.diags);
  if (!loader.loadArguments(ir::ArgRole::Param, checkpoint->params, path)) {
    failure = {Failure::Value, takeDiagnostics()};
    return false;
  }
  params_ = loader.take(ir::ArgRole::Param);
  // The optimizer's state comes along when the file's optimizer is this
  // script's, as `nabla train --init` resumes.
  state_.clear();
  epochsDone_ = 0;
  std::string optimizer = optimizerName(driver::optimizerFor(c_, commandOptions({})).kind);
  if (checkpoint->optimizer == optimizer) {
    for (NamedTensor &t : checkpoint->state)
      state_.emplace(t.first, std::move(t.second));
    epochsDone_ = checkpoint->epochs;
  }
  return true;
}

bool Network::save(const std::string &path, Failure &failure) const {
  std::lock_guard<std::mutex> lock(mutex_);
  NamedTensors params, state;
  for (const ir::Argument *arg : source_->arguments(ir::ArgRole::Param))
    params.emplace_back(arg->value.name, &params_.at(arg->value.name));
  for (const auto &[name, t] : state_)
    state.emplace_back(name, &t);
  // Without state (nothing trained since init or load) the file holds
  // params only, and a run started from it starts its optimizer afresh.
  std::string optimizer =
      state_.empty() ? "" : optimizerName(driver::optimizerFor(c_, commandOptions({})).kind);
  std::string error;
  if (!saveCheckpoint(path, params, state, epochsDone_, optimizer, error)) {
    failure = {Failure::Value, fmt::format("{}: error: {}", path, error)};
    return false;
  }
  return true;
}

bool Network::setParams(Arrays arrays, Failure &failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  const ir::Function &source = *source_;
  for (const auto &[name, t] : arrays) {
    const ir::Argument *arg = source.findArgument(ir::ArgRole::Param, name);
    if (!arg) {
      std::string names;
      for (const ir::Argument *p : source.arguments(ir::ArgRole::Param))
        names += (names.empty() ? "" : ", ") + p->value.name;
      failure = {Failure::Value, fmt::format("set_params: the script has no param '{}' (its "
                                             "params: {})",
                                             name, names.empty() ? "none" : names)};
      return false;
    }
    if (t.shape() != params_.at(name).shape() || t.dtype() != arg->value.type.dtype) {
      failure = {Failure::Value,
                 fmt::format("set_params: param '{}' is {}; the array is {} of shape {}", name,
                             arg->value.type.str(), dtypeName(t.dtype()), numpyShape(t.shape()))};
      return false;
    }
  }
  for (auto &[name, t] : arrays)
    params_[name] = t.clone(); // the array may be borrowed from NumPy
  return true;
}

ir::Function *Network::function(cli::Command which, Failure &failure) {
  if (auto it = functions_.find(which); it != functions_.end())
    return it->second;
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  Redirect redirect(errorStream, text_);
  cli::Options o = commandOptions(which);
  ir::Function *fn = nullptr;
  if (which == cli::Command::Predict) {
    fn = driver::predictStep(c_, o);
  } else if (which == cli::Command::Eval) {
    fn = driver::functionToRun(c_, true);
    if (fn && !driver::runIRPipeline(c_, *fn, o))
      fn = nullptr;
  } else {
    OptimizerConfig optimizer = driver::optimizerFor(c_, o);
    if (optimizer.kind == OptimizerConfig::Kind::Lm) {
      failure = {Failure::Value, "step: lm solves its steps beside the compiled update; "
                                 "train it with fit"};
      return nullptr;
    }
    if (!source_->findResult(ir::ResultRole::Loss)) {
      failure = {Failure::Value, "step: the script has no 'loss': training needs one"};
      return nullptr;
    }
    fn = driver::buildUpdate(c_, optimizer);
    if (fn && !driver::runIRPipeline(c_, *fn, o))
      fn = nullptr;
  }
  c_.diags.flush(errorStream);
  if (!fn) {
    if (failure.message.empty())
      failure = {Failure::Value, errors};
    return nullptr;
  }
  functions_[which] = fn;
  return fn;
}

std::optional<std::vector<const Tensor *>> Network::bind(const ir::Function &fn,
                                                         const Arrays &inputs,
                                                         ir::SymbolBindings &bindings,
                                                         Failure &failure) {
  std::vector<const Tensor *> args;
  std::map<std::string, std::string> boundBy;
  auto fail = [&](std::string message) {
    failure = {Failure::Value, std::move(message)};
    return std::nullopt;
  };
  for (const auto &[name, t] : inputs)
    if (!inputDType(name))
      return fail(fmt::format("the script has no input '{}' (its inputs: {})", name, inputNames()));
  // Symbolic sizes first, from every input given, so that a size bound
  // two ways is reported whatever the order.
  for (const auto &arg : fn.args) {
    if (arg->role != ir::ArgRole::Input)
      continue;
    auto it = std::find_if(inputs.begin(), inputs.end(),
                           [&](const auto &in) { return in.first == arg->value.name; });
    const Shape &shape = arg->value.type.shape;
    if (it == inputs.end())
      return fail(
          fmt::format("input '{}' ({}) is missing", arg->value.name, arg->value.type.str()));
    const Tensor &t = it->second;
    std::string expected = fmt::format("input '{}' must be {}, an array of shape {}",
                                       arg->value.name, arg->value.type.str(), shapeStr(shape));
    if (t.rank() != shape.size())
      return fail(fmt::format("{}; got shape {}", expected, numpyShape(t.shape())));
    for (size_t i = 0; i < shape.size(); ++i) {
      const Dim &d = shape[i];
      if (d.symbols().size() == 1 && d.coefficient() == 1) {
        const std::string &symbol = d.symbols()[0];
        auto [bound, fresh] = bindings.emplace(symbol, t.shape()[i]);
        if (!fresh && bound->second != t.shape()[i])
          return fail(fmt::format("{} is {} in input '{}' but {} in {}", symbol, t.shape()[i],
                                  arg->value.name, bound->second, boundBy[symbol]));
        boundBy.emplace(symbol, "input '" + arg->value.name + "'");
      }
    }
  }
  for (const auto &arg : fn.args) {
    const std::string &name = arg->value.name;
    if (arg->role == ir::ArgRole::Input) {
      const Tensor &t = std::find_if(inputs.begin(), inputs.end(), [&](const auto &in) {
                          return in.first == name;
                        })->second;
      std::optional<std::vector<int64_t>> want = ir::concreteShape(arg->value.type.shape, bindings);
      if (!want || *want != t.shape())
        return fail(
            fmt::format("input '{}' must be {}{}; got shape {}", name, arg->value.type.str(),
                        want ? " = " + sizesStr(*want) : std::string(), numpyShape(t.shape())));
      if (int64_t classes = ir::classCount(fn, &arg->value, bindings))
        for (int64_t k = 0; k < t.numel(); ++k) {
          int32_t v = t.data<int32_t>()[k];
          if (v < 0 || v >= classes)
            return fail(fmt::format("label {} at position {} of input '{}' is outside [0, {})", v,
                                    k, name, classes));
        }
      args.push_back(&t);
    } else if (arg->role == ir::ArgRole::Param) {
      args.push_back(&params_.at(name));
    } else {
      auto it = state_.find(name);
      std::optional<std::vector<int64_t>> shape = ir::concreteShape(arg->value.type.shape, {});
      if (it == state_.end() || it->second.shape() != *shape ||
          it->second.dtype() != arg->value.type.dtype)
        it = state_.insert_or_assign(name, Tensor(arg->value.type.dtype, *shape)).first;
      args.push_back(&it->second);
    }
  }
  return args;
}

std::optional<std::vector<Tensor>> Network::run(const ir::Function &fn,
                                                const std::vector<const Tensor *> &args,
                                                const ir::SymbolBindings &bindings,
                                                Failure &failure) {
  codegen::CompiledStep *step = compiler_->compile(fn, bindings, c_.sources, c_.diags);
  std::optional<std::vector<Tensor>> results;
  if (step)
    results = step->run(args, c_.diags);
  if (!results)
    failure = {Failure::Value, takeDiagnostics()};
  return results;
}

std::optional<std::vector<Tensor>> Network::run(cli::Command which, Arrays inputs,
                                                const ir::Function *&fn, Failure &failure) {
  fn = function(which, failure);
  if (!fn)
    return std::nullopt;
  if (which == cli::Command::Predict) // inputs the outputs do not need (labels) are ignored
    std::erase_if(inputs, [&](const auto &in) {
      return inputDType(in.first) && !fn->findArgument(ir::ArgRole::Input, in.first);
    });
  ir::SymbolBindings bindings;
  auto args = bind(*fn, inputs, bindings, failure);
  if (!args)
    return std::nullopt;
  return run(*fn, *args, bindings, failure);
}

std::optional<Arrays> Network::predict(Arrays inputs, Failure &failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  const ir::Function *fn;
  auto results = run(cli::Command::Predict, std::move(inputs), fn, failure);
  if (!results)
    return std::nullopt;
  Arrays out;
  for (size_t i = 0; i < fn->results.size(); ++i)
    out.emplace_back(fn->results[i].name, std::move((*results)[i]));
  return out;
}

std::optional<Arrays> Network::eval(Arrays inputs, Arrays &grads, Failure &failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  const ir::Function *fn;
  auto results = run(cli::Command::Eval, std::move(inputs), fn, failure);
  if (!results)
    return std::nullopt;
  Arrays out;
  for (size_t i = 0; i < fn->results.size(); ++i) {
    const ir::Result &r = fn->results[i];
    if (r.role == ir::ResultRole::Grad)
      grads.emplace_back(r.name, std::move((*results)[i]));
    else
      out.emplace_back(r.role == ir::ResultRole::Loss ? "loss" : r.name, std::move((*results)[i]));
  }
  return out;
}

std::optional<double> Network::step(Arrays inputs, Failure &failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  const ir::Function *fn;
  auto results = run(cli::Command::Train, std::move(inputs), fn, failure);
  if (!results)
    return std::nullopt;
  double loss = 0;
  for (size_t i = 0; i < fn->results.size(); ++i) {
    const ir::Result &r = fn->results[i];
    if (r.role == ir::ResultRole::Loss)
      loss = (*results)[i].get(0);
    else if (r.role == ir::ResultRole::Update)
      params_[r.name] = std::move((*results)[i]);
    else if (r.role == ir::ResultRole::State)
      state_[r.name] = std::move((*results)[i]);
  }
  return loss;
}

std::optional<std::vector<EpochMetrics>> Network::fit(const FitOptions &fit, Failure &failure) {
  TemporaryFolder folder;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("nabla-fit", folder.path)) {
    failure = {Failure::Value, "fit: cannot make a temporary folder: " + ec.message()};
    return std::nullopt;
  }
  cli::Options o = commandOptions(cli::Command::Train);
  o.epochs = fit.epochs;
  o.batch = fit.batch;
  o.seed = fit.seed;
  o.quiet = !fit.progress;
  o.init = folder.file("init.safetensors");
  o.save = folder.file("trained.safetensors");
  o.metrics = folder.file("metrics.csv");
  // The run starts from the network's params and optimizer state, and
  // reads arrays given in Python from .npy copies.
  if (!save(o.init, failure))
    return std::nullopt;
  for (auto [arrays, files] :
       {std::make_pair(&fit.data, &o.data), std::make_pair(&fit.test, &o.test)})
    for (const auto &[name, t] : *arrays) {
      std::string path = folder.file(
                      fmt::format("{}_{}.npy", files == &o.data ? "data" : "test", files->size())),
                  error;
      if (!writeNpy(path, t, error)) {
        failure = {Failure::Value, "fit: " + error};
        return std::nullopt;
      }
      files->emplace_back(name, path);
    }
  std::lock_guard<std::mutex> lock(mutex_);
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  int exitCode;
  {
    Redirect redirect(errorStream, text_);
    exitCode = commands::train(o);
  }
  if (exitCode != 0) {
    failure = {Failure::Value, errors};
    return std::nullopt;
  }
  std::string error;
  std::optional<Checkpoint> trained = loadCheckpoint(o.save, error);
  if (!trained) {
    failure = {Failure::Value, "fit: the trained params: " + error};
    return std::nullopt;
  }
  for (NamedTensor &t : trained->params)
    params_[t.first] = std::move(t.second);
  state_.clear();
  for (NamedTensor &t : trained->state)
    state_.emplace(t.first, std::move(t.second));
  epochsDone_ = trained->epochs;
  return readMetrics(o.metrics);
}

std::optional<std::string> Network::ir(const std::string &stage, Failure &failure) {
  const std::vector<std::string> &stages = cli::dumpStages();
  if (std::find(stages.begin(), stages.end(), stage) == stages.end()) {
    std::string names;
    for (const std::string &s : stages)
      names += (names.empty() ? "" : ", ") + s;
    failure = {Failure::Value,
               fmt::format("ir: unknown stage '{}'; the stages are {}", stage, names)};
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  cli::Options o = commandOptions(cli::Command::Dump);
  o.emit = stage;
  std::string errors, text;
  llvm::raw_string_ostream errorStream(errors), textStream(text);
  int exitCode;
  {
    Redirect redirect(errorStream, text_, &textStream);
    exitCode = commands::dump(o);
  }
  if (exitCode != 0) {
    failure = {Failure::Value, errors};
    return std::nullopt;
  }
  return text;
}

} // namespace nabla::python
