#include "training/Trainer.h"
#include "support/FileIO.h"
#include "training/Checkpoint.h"
#include "training/Plot.h"
#include "training/Progress.h"

#include "ir/Interpreter.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <chrono>
#include <cmath>

namespace nabla {

using ir::ArgRole;
using ir::ResultRole;

namespace {
double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
std::string number(double v) {
  return std::isfinite(v) ? fmt::format("{:.4f}", v) : fmt::format("{}", v);
}
} // namespace

Trainer::Trainer(const ir::Function &update, const ir::Function *evaluate,
                 codegen::Compiler &compiler, const SourceManager &sources, DiagnosticEngine &diags)
    : update_(update), evaluate_(evaluate), compiler_(compiler), sources_(sources), diags_(diags) {
  for (const ir::Argument *arg : update.arguments(ArgRole::Input)) {
    const Shape &s = arg->value.type.shape;
    if (!s.empty() && !s[0].isConcrete())
      batchSymbol_ = s[0].symbols()[0];
  }
  for (const ir::Result &r : update.results)
    if (r.role == ResultRole::Metric)
      metricNames_.push_back(r.name);
}

ir::SymbolBindings Trainer::bindingsFor(int64_t n) const {
  if (batchSymbol_.empty())
    return {};
  return {{batchSymbol_, n}};
}

codegen::CompiledStep *Trainer::stepFor(const ir::Function &fn, int64_t n) {
  auto key = std::make_pair(&fn, n);
  auto it = steps_.find(key);
  if (it != steps_.end())
    return it->second;
  codegen::CompiledStep *step = compiler_.compile(fn, bindingsFor(n), sources_, diags_);
  steps_[key] = step;
  return step;
}

/// Points each argument of `fn` at its tensor: a batch input, a param or a state value.
static void bindArguments(const ir::Function &fn, const Dataset &data, std::vector<Tensor> &batch,
                          std::map<std::string, Tensor> &params,
                          std::map<std::string, Tensor> &state, std::vector<const Tensor *> &args) {
  args.clear();
  for (const auto &arg : fn.args) {
    const std::string &name = arg->value.name;
    switch (arg->role) {
    case ArgRole::Input: {
      const auto &names = data.inputs();
      args.push_back(&batch[size_t(std::find(names.begin(), names.end(), name) - names.begin())]);
      break;
    }
    case ArgRole::Param: args.push_back(&params.at(name)); break;
    case ArgRole::State: args.push_back(&state.at(name)); break;
    }
  }
}

std::optional<std::vector<double>> Trainer::evaluate(const Dataset &test, int64_t batchSize) {
  std::vector<double> sums;
  std::vector<Tensor> batch, scalars;
  for (const ir::Result &r : evaluate_->results)
    scalars.emplace_back(r.value->type.dtype, std::vector<int64_t>{});
  std::vector<Tensor *> results;
  for (Tensor &t : scalars)
    results.push_back(&t);
  sums.assign(scalars.size(), 0);
  std::vector<const Tensor *> args;
  std::vector<int64_t> order = test.order(false, 0, 0);
  for (int64_t begin = 0, index = 0; begin < test.size(); begin += batchSize, ++index) {
    if (index % ranks_ != rank_) // another rank's batch
      continue;
    int64_t n = std::min(batchSize, test.size() - begin);
    test.prepareBatch(n, batch);
    test.gather(order, begin, n, batch);
    bindArguments(*evaluate_, test, batch, current_, currentState_, args);
    codegen::CompiledStep *step = stepFor(*evaluate_, n);
    if (!step || !step->runInto(args, results, diags_))
      return std::nullopt;
    for (size_t i = 0; i < scalars.size(); ++i)
      sums[i] += scalars[i].get(0) * double(n);
  }
  if (sumOverRanks_)
    sumOverRanks_(sums);
  for (double &s : sums)
    s /= double(test.size());
  return sums;
}

void Trainer::explainNonFinite(int64_t step, int64_t epoch, int64_t batchIndex,
                               const std::vector<const Tensor *> &args, int64_t n) {
  ir::Interpreter interpreter(diags_);
  const ir::Argument *bad = nullptr;
  const ir::Op *op = interpreter.firstNonFinite(update_, args, bindingsFor(n), &bad);
  std::string where =
      fmt::format("training stopped at step {} (epoch {}, batch {})", step, epoch, batchIndex);
  if (op) {
    diags_.error(op->loc,
                 "{}: the loss is not finite; the first value that is not finite is "
                 "computed here, by '{}'",
                 where, op->info().name);
  } else if (bad && bad->role == ArgRole::Input) {
    diags_.error(bad->loc, "{}: the data of input '{}' holds values that are not finite", where,
                 bad->value.name);
  } else if (bad) {
    diags_.error(bad->loc,
                 "{}: {} '{}' holds values that are not finite: the optimizer's update "
                 "of the step before produced them",
                 where, ir::roleName(bad->role), bad->value.name);
  } else {
    diags_.error({},
                 "{}: the loss is not finite, but the reference interpreter computes a "
                 "finite loss for the same step: this is a bug in the compiled code",
                 where);
  }
}

bool Trainer::save(const TrainSettings &settings, int64_t epochsDone) {
  NamedTensors params, state;
  for (const auto &arg : update_.args) {
    if (arg->role == ArgRole::Param)
      params.emplace_back(arg->value.name, &current_.at(arg->value.name));
    else if (arg->role == ArgRole::State)
      state.emplace_back(arg->value.name, &currentState_.at(arg->value.name));
  }
  std::string error;
  if (!saveCheckpoint(settings.savePath, params, state, epochsDone, settings.optimizer, error)) {
    diags_.fileError(settings.savePath, "{}", error);
    return false;
  }
  return true;
}

void Trainer::startHistory(bool withTest) {
  series_.assign(1 + metricNames_.size(), Series{});
  series_[0].name = "loss";
  for (size_t i = 0; i < metricNames_.size(); ++i)
    series_[i + 1].name = metricNames_[i];
  csv_ = "epoch,loss";
  for (const std::string &m : metricNames_)
    csv_ += "," + m;
  if (withTest) {
    csv_ += ",test_loss";
    for (const std::string &m : metricNames_)
      csv_ += ",test_" + m;
  }
  csv_ += ",samples_per_second,seconds\n";
}

void Trainer::record(int64_t epoch, const EpochResult &r) {
  for (size_t i = 0; i < series_.size(); ++i) {
    series_[i].train.push_back(r.train[i]);
    if (r.test)
      series_[i].test.push_back((*r.test)[i]);
  }
  csv_ += std::to_string(epoch);
  for (double v : r.train)
    csv_ += fmt::format(",{}", v);
  if (r.test)
    for (double v : *r.test)
      csv_ += fmt::format(",{}", v);
  csv_ += fmt::format(",{:.1f},{:.3f}\n", double(r.seen) / r.seconds, r.seconds);
}

std::string Trainer::summary(int64_t epoch, int64_t total, const EpochResult &r) const {
  std::string line = fmt::format("epoch {}/{}: loss {}", epoch, total, number(r.train[0]));
  for (size_t i = 0; i < metricNames_.size(); ++i)
    line += fmt::format(", {} {}", metricNames_[i], number(r.train[i + 1]));
  if (r.test) {
    line += fmt::format("; test loss {}", number((*r.test)[0]));
    for (size_t i = 0; i < metricNames_.size(); ++i)
      line += fmt::format(", {} {}", metricNames_[i], number((*r.test)[i + 1]));
  }
  return line + fmt::format("; {:.0f} samples/s, {:.2f} s", double(r.seen) / r.seconds, r.seconds);
}

bool Trainer::writeFiles(const TrainSettings &settings, int64_t epochsDone) {
  auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!settings.metricsPath.empty() && !writeFileAtomically(settings.metricsPath, {csv_}, error)) {
    diags_.fileError(settings.metricsPath, "{}", error);
    return false;
  }
  if (!settings.plotPath.empty() &&
      !writeFileAtomically(settings.plotPath, {plotSvg(series_, settings.title)}, error)) {
    diags_.fileError(settings.plotPath, "{}", error);
    return false;
  }
  if (!settings.savePath.empty() && !save(settings, epochsDone))
    return false;
  lastWrite_ = std::chrono::steady_clock::now();
  lastWriteSeconds_ = since(start);
  return true;
}

bool Trainer::timeToWrite() const {
  // At most about a tenth of the time goes to writing, and at most one
  // write a second: short epochs would otherwise spend their time in fsync.
  double interval = std::max(1.0, 10 * lastWriteSeconds_);
  return since(lastWrite_) >= interval;
}

bool Trainer::trainEpoch(const TrainSettings &settings, const Dataset &train, int64_t epoch,
                         int64_t batchSize, Progress &progress, EpochResult &result) {
  auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> order = train.order(settings.shuffle, settings.seed, epoch);
  int64_t steps = (train.size() + batchSize - 1) / batchSize;
  progress.startEpoch(epoch + 1, settings.firstEpoch + settings.epochs, steps);
  std::vector<double> sums(scalars_.size(), 0);
  int64_t seen = 0;
  for (int64_t s = 0; s < steps; ++s) {
    int64_t n = std::min(batchSize, train.size() - s * batchSize);
    train.prepareBatch(n, batch_);
    train.gather(order, s * batchSize, n, batch_);
    bindArguments(update_, train, batch_, current_, currentState_, args_);
    // The loss and the metrics land in scalars_; params and state in the
    // `next` buffers, which then become the current ones.
    results_.clear();
    size_t k = 0;
    for (const ir::Result &r : update_.results) {
      if (r.role == ResultRole::Loss || r.role == ResultRole::Metric)
        results_.push_back(&scalars_[k++]);
      else if (r.role == ResultRole::Update)
        results_.push_back(&next_.at(r.name));
      else
        results_.push_back(&nextState_.at(r.name));
    }
    ++globalStep_;
    if (override_) {
      if (!override_(n, bindingsFor(n), args_, results_))
        return false;
    } else {
      codegen::CompiledStep *step = stepFor(update_, n);
      if (!step || !step->runInto(args_, results_, diags_))
        return false;
    }
    if (!std::isfinite(scalars_[0].get(0))) {
      explainNonFinite(globalStep_, epoch + 1, s + 1, args_, n);
      return false;
    }
    for (size_t i = 0; i < scalars_.size(); ++i)
      sums[i] += scalars_[i].get(0) * double(n);
    seen += n;
    std::swap(current_, next_);
    std::swap(currentState_, nextState_);
    if (progress.live()) {
      std::vector<std::pair<std::string, double>> running = {{"loss", sums[0] / double(seen)}};
      for (size_t i = 0; i < metricNames_.size(); ++i)
        running.emplace_back(metricNames_[i], sums[i + 1] / double(seen));
      progress.step(s + 1, running, double(seen) / since(start));
    }
  }
  for (double &v : sums)
    v /= double(seen);
  result.train = std::move(sums);
  result.seen = seen;
  result.seconds = since(start);
  return true;
}

bool Trainer::compileAhead(const Dataset &train, const Dataset *test, int64_t batchSize,
                           Progress &progress) {
  auto start = std::chrono::steady_clock::now();
  // Full batches, and the partial last batch when there is one.
  std::vector<std::pair<const ir::Function *, int64_t>> steps;
  if (!override_) // an overriding step compiles what it runs itself
    for (int64_t n : {std::min(batchSize, train.size()), train.size() % batchSize})
      if (n)
        steps.emplace_back(&update_, n);
  if (test)
    for (int64_t n : {std::min(batchSize, test->size()), test->size() % batchSize})
      if (n)
        steps.emplace_back(evaluate_, n);
  for (const auto &[fn, n] : steps)
    if (!stepFor(*fn, n))
      return false;
  progress.note(fmt::format("compiled {} step{} in {:.2f} s", steps_.size(),
                            steps_.size() == 1 ? "" : "s", since(start)));
  return true;
}

int Trainer::run(const TrainSettings &settings, const Dataset &train, const Dataset *test,
                 bool batched, std::map<std::string, Tensor> params,
                 std::map<std::string, Tensor> state) {
  current_ = std::move(params);
  currentState_ = std::move(state);
  for (const auto &[name, t] : current_)
    next_[name] = t.clone();
  for (const auto &[name, t] : currentState_)
    nextState_[name] = t.clone();
  scalars_.clear();
  for (const ir::Result &r : update_.results)
    if (r.role == ResultRole::Loss || r.role == ResultRole::Metric)
      scalars_.emplace_back(r.value->type.dtype, std::vector<int64_t>{});
  startHistory(test != nullptr);
  lastWrite_ = std::chrono::steady_clock::now();

  Progress progress(llvm::errs(), settings.quiet, settings.live);
  int64_t batchSize = batched ? settings.batch : 1;
  if (!compileAhead(train, test, batchSize, progress))
    return 1;
  int64_t total = settings.firstEpoch + settings.epochs;
  for (int64_t e = 0; e < settings.epochs; ++e) {
    int64_t epoch = settings.firstEpoch + e;
    EpochResult result;
    if (!trainEpoch(settings, train, epoch, batchSize, progress, result))
      return 1;
    if (test) {
      result.test = evaluate(*test, batchSize);
      if (!result.test)
        return 1;
    }
    progress.endEpoch(summary(epoch + 1, total, result));
    record(epoch + 1, result);
    if ((e + 1 == settings.epochs || timeToWrite()) && !writeFiles(settings, epoch + 1))
      return 1;
  }
  // Zero epochs still save: the file holds the starting point.
  if (settings.epochs == 0 && !writeFiles(settings, settings.firstEpoch))
    return 1;
  return 0;
}

} // namespace nabla
