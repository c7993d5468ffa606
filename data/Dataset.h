//===- Dataset.h - The examples a training run reads ------------*- C++ -*-===//
//
// One tensor per input of a step function, [N, per-example shape...], loaded
// from data sources; and the batches made from them. The first axis of each
// source is the example axis; the rest is reshaped to the input's
// per-example shape (its declared shape without the batch axis). Every
// input must have the same number of examples.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "data/DataSources.h"
#include "ir/IR.h"
#include "ir/TrainConfig.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"

#include <optional>
#include <string>
#include <vector>

namespace nabla {

class Dataset {
public:
  /// Loads a source for every input of `fn` (reporting each problem, naming
  /// the file). `batched`: the inputs' first axis is the batch axis.
  static std::optional<Dataset> load(const ir::Function &fn,
                                     const std::vector<std::pair<std::string, DataSource>> &sources,
                                     bool batched, const std::string &what,
                                     DiagnosticEngine &diags);

  int64_t size() const { return count_; }
  const std::vector<std::string> &inputs() const { return names_; }

  /// Shapes `batch` (one tensor per input) for `n` examples, allocating only
  /// when the size changes.
  void prepareBatch(int64_t n, std::vector<Tensor> &batch) const;
  /// Copies the examples order[begin, begin + n) into `batch` (prepared for n).
  void gather(const std::vector<int64_t> &order, int64_t begin, int64_t n,
              std::vector<Tensor> &batch) const;

  /// The example order of an epoch: shuffled from (seed, epoch), or in order.
  std::vector<int64_t> order(bool shuffle, uint64_t seed, int64_t epoch) const;

private:
  /// Labels must be below the class count of the ops that read them.
  bool checkLabels(const ir::Function &fn, DiagnosticEngine &diags) const;

  std::vector<std::string> names_;
  std::vector<std::string> paths_; ///< the source of each input
  std::vector<Examples> examples_; ///< [N, per-example...] per input
  std::vector<DType> dtypes_;
  std::vector<std::vector<int64_t>> perExample_;
  bool batched_ = true;
  int64_t count_ = 0;
};

/// Whether `fn`'s inputs carry a batch axis: all of them start with one
/// symbolic size (true), or none has a symbolic size (false: one example per
/// step). Nothing after reporting an input that is neither.
std::optional<bool> inputsAreBatched(const ir::Function &fn, DiagnosticEngine &diags);

} // namespace nabla
