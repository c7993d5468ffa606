//===- Trainer.h - The training loop ----------------------------*- C++ -*-===//
//
// Runs the compiled training step (forward, backward and the optimizer's
// update in one call) over the batches of each epoch, evaluates the test set
// after each epoch, and reports progress, writes the metrics, the plot and
// the checkpoint. Params and optimizer state live in two buffers each: a step
// reads one and writes the other, so nothing is copied or allocated per step
// and the values a step started from are still there if it goes wrong.
//
// A loss that is not finite stops training: the step is run again on the
// reference interpreter, which finds the first op whose result is not
// finite, and the error points at that op's source line.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Compiler.h"
#include "data/Dataset.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"
#include "training/Plot.h"
#include "training/Progress.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace nabla {

struct TrainSettings {
  int64_t epochs = 1;
  int64_t batch = 32;
  uint64_t seed = 0;
  bool shuffle = true;
  bool quiet = false;
  bool live = false;       ///< redraw a progress line (stderr is a terminal)
  int64_t firstEpoch = 0;  ///< epochs already done (a resumed run)
  std::string optimizer;   ///< its name, for checkpoints
  std::string savePath;    ///< --save
  std::string metricsPath; ///< --metrics
  std::string plotPath;    ///< --plot
  std::string title;       ///< the plot's title
};

class Trainer {
public:
  /// `update` is @train_update; `evaluate` computes the loss and metrics on
  /// the test set (null without one).
  Trainer(const ir::Function &update, const ir::Function *evaluate, codegen::Compiler &compiler,
          const SourceManager &sources, DiagnosticEngine &diags);

  /// Trains from `params` and `state` (every param and state value of
  /// `update`, by name). Returns the process exit code.
  int run(const TrainSettings &settings, const Dataset &train, const Dataset *test, bool batched,
          std::map<std::string, Tensor> params, std::map<std::string, Tensor> state);

  /// The params after run().
  const std::map<std::string, Tensor> &params() const { return current_; }

  /// A step taken in place of the compiled update, with the update's
  /// arguments and results (the batch size and its sizes first): lm's solver
  /// (training/LevenbergMarquardt.h). False after reporting an error.
  using StepOverride = std::function<bool(int64_t n, const ir::SymbolBindings &bindings,
                                          const std::vector<const Tensor *> &args,
                                          const std::vector<Tensor *> &results)>;
  void overrideStep(StepOverride step) { override_ = std::move(step); }

  /// The ranks of a data-parallel run (training/DataParallelStep.h): this
  /// one evaluates every `size`-th test batch from batch `rank`, and `sum`
  /// adds the loss and metric sums over the ranks.
  void distribute(int rank, int size, std::function<void(std::vector<double> &)> sum) {
    rank_ = rank;
    ranks_ = size;
    sumOverRanks_ = std::move(sum);
  }

private:
  /// What one epoch measured: the loss and the metrics, averaged over the
  /// examples, on the training data and on the test data.
  struct EpochResult {
    std::vector<double> train;
    std::optional<std::vector<double>> test;
    int64_t seen = 0;
    double seconds = 0;
  };

  bool trainEpoch(const TrainSettings &settings, const Dataset &train, int64_t epoch,
                  int64_t batchSize, Progress &progress, EpochResult &result);
  /// Compiles the steps for the batch sizes the run will see, so that the
  /// first epoch's rate does not include compiling.
  bool compileAhead(const Dataset &train, const Dataset *test, int64_t batchSize,
                    Progress &progress);
  /// The CSV's header and empty curves.
  void startHistory(bool withTest);
  /// Adds an epoch to the CSV text and the curves.
  void record(int64_t epoch, const EpochResult &result);
  /// The line printed after an epoch.
  std::string summary(int64_t epoch, int64_t total, const EpochResult &result) const;
  /// Whether enough time passed since the files were last written.
  bool timeToWrite() const;
  /// Writes --metrics, --plot and --save (each atomically).
  bool writeFiles(const TrainSettings &settings, int64_t epochsDone);
  /// Sizes for a batch of n examples.
  ir::SymbolBindings bindingsFor(int64_t n) const;
  codegen::CompiledStep *stepFor(const ir::Function &fn, int64_t n);
  /// Loss and metrics over the test set, weighted by batch size.
  std::optional<std::vector<double>> evaluate(const Dataset &test, int64_t batch);
  void explainNonFinite(int64_t step, int64_t epoch, int64_t batchIndex,
                        const std::vector<const Tensor *> &args, int64_t n);
  bool save(const TrainSettings &settings, int64_t epochsDone);

  const ir::Function &update_;
  const ir::Function *evaluate_;
  StepOverride override_;
  int rank_ = 0, ranks_ = 1;
  std::function<void(std::vector<double> &)> sumOverRanks_;
  codegen::Compiler &compiler_;
  const SourceManager &sources_;
  DiagnosticEngine &diags_;
  std::string batchSymbol_;
  std::map<std::pair<const ir::Function *, int64_t>, codegen::CompiledStep *> steps_;
  std::map<std::string, Tensor> current_, next_;           ///< params
  std::map<std::string, Tensor> currentState_, nextState_; ///< optimizer state
  std::vector<std::string> metricNames_;

  // Buffers reused by every step.
  std::vector<Tensor> batch_, scalars_;
  std::vector<const Tensor *> args_;
  std::vector<Tensor *> results_;
  int64_t globalStep_ = 0;

  // The history so far, and when it was last written.
  std::vector<Series> series_;
  std::string csv_;
  std::chrono::steady_clock::time_point lastWrite_;
  double lastWriteSeconds_ = 0;
};

} // namespace nabla
