//===- TrainConfig.h - What a script's train block asks for -----*- C++ -*-===//
//
// The training vocabulary: how params start (initializers), where examples
// come from (data sources), which optimizer updates the params, and the
// train block that names them. Sema fills these from a script, the IR text
// prints and parses them, the update builder and the trainer read them; the
// IR carries them so that a dumped module trains like its script.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/SourceManager.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla {

struct Initializer {
  enum class Kind {
    Zeros,
    Ones,
    Constant,
    Uniform,
    Normal,
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunNormal
  };
  Kind kind = Kind::Zeros;
  double a = 0; ///< constant: the value; uniform: lo; normal: mean
  double b = 0; ///< uniform: hi; normal: std
  SourceLoc loc;
  bool isDefault = false; ///< chosen by the rule for params without `= INIT`
};

struct DataSource {
  enum class Kind { Idx, Npy, Csv };
  Kind kind = Kind::Idx;
  std::string path; ///< resolved against the script's folder
  double scale = 1;
  std::vector<int64_t> columns;         ///< csv: by index (empty: all)
  std::vector<std::string> columnNames; ///< csv: by header name
  bool header = true;                   ///< csv
  SourceLoc loc;
};

/// The most param elements lm (Levenberg-Marquardt) takes: it solves an
/// n x n system every step (docs/training.md).
inline constexpr int64_t kMaxLmParams = 5000;

struct OptimizerConfig {
  enum class Kind { Sgd, Adam, AdamW, RmsProp, Lm };
  Kind kind = Kind::Adam;
  double lr = 1e-3;
  double momentum = 0, weightDecay = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double alpha = 0.99; ///< rmsprop's smoothing constant
  double mu = 1e-3;    ///< lm's starting damping
  double factor = 10;  ///< lm's damping factor: mu /= factor on success, *= on failure
  SourceLoc loc;
};

//===----------------------------------------------------------------------===//
// The vocabulary as tables: one row per initializer, data source and
// optimizer, read by Sema (signatures, ranges), the IR printer and parser,
// the CLI's summary line and the update builder. Adding an optimizer is a row
// in optimizers() plus its update math in passes/OptimizerUpdate.cpp.
//===----------------------------------------------------------------------===//

/// What a setting holds.
enum class SettingType : uint8_t {
  Number,  ///< a real number, stored through `number`
  Flag,    ///< true or false, stored through `flag`
  Path,    ///< a data source's file (the first argument, always written)
  Columns, ///< csv columns: indices or header names (written when chosen)
};

/// One hyper-parameter of a row: its name, default, accepted range and where
/// it lives in the config struct `Config`.
template <typename Config> struct Setting {
  const char *name;
  SettingType type;
  const char *defaultText = nullptr; ///< as signatures show it; null when required
  double defaultValue = 0;           ///< for Number and Flag (0/1)
  double Config::*number = nullptr;
  bool Config::*flag = nullptr;
  /// Numbers must lie in [min, max) ((min, max) when `minOpen`); `rule` says so.
  double min = -HUGE_VAL, max = HUGE_VAL;
  bool minOpen = false;
  const char *rule = nullptr;
  bool quietAtZero = false; ///< left out of the run's summary line when 0 or false
};

/// One row: a name as scripts and the IR text spell it, and its settings in
/// the order they are written.
template <typename Config> struct VocabularyRow {
  typename Config::Kind kind;
  const char *name;
  std::vector<Setting<Config>> settings;
  bool usesFans = false; ///< initializers scaled by fan-in/fan-out (rank >= 1)

  /// The setting called `key`, or null.
  const Setting<Config> *find(std::string_view key) const {
    for (const Setting<Config> &s : settings)
      if (key == s.name)
        return &s;
    return nullptr;
  }
};

using InitializerRow = VocabularyRow<Initializer>;
using DataSourceRow = VocabularyRow<DataSource>;
using OptimizerRow = VocabularyRow<OptimizerConfig>;

/// The tables, in the order messages list them.
const std::vector<InitializerRow> &initializerTable();
const std::vector<DataSourceRow> &dataSourceTable();
const std::vector<OptimizerRow> &optimizerTable();

/// The row named `name`, or null.
template <typename Row> const Row *findRow(const std::vector<Row> &table, std::string_view name) {
  for (const Row &row : table)
    if (name == row.name)
      return &row;
  return nullptr;
}

/// The row of `kind` (every kind has one).
const InitializerRow &rowOf(Initializer::Kind kind);
const DataSourceRow &rowOf(DataSource::Kind kind);
const OptimizerRow &rowOf(OptimizerConfig::Kind kind);

inline const char *initializerName(Initializer::Kind kind) { return rowOf(kind).name; }
inline const char *optimizerName(OptimizerConfig::Kind kind) { return rowOf(kind).name; }

/// The IR text of each: "uniform(-1, 1)", "idx(\"a.gz\", scale=1)",
/// "sgd(lr=0.1, momentum=0, nesterov=false, weight_decay=0)". Every setting
/// is written, so a dumped module trains like its script.
std::string initializerText(const Initializer &init);
std::string dataSourceText(const DataSource &source);
std::string optimizerText(const OptimizerConfig &optimizer);

/// The optimizer for the run's first line: "adam(lr=0.001, beta1=0.9, ...)",
/// settings that are 0 or false left out where the row says so.
std::string optimizerSummary(const OptimizerConfig &optimizer);

struct TrainConfig {
  std::vector<std::pair<std::string, DataSource>> data, test; ///< input name -> source
  std::optional<OptimizerConfig> optimizer;
  std::optional<int64_t> batch, epochs;
  int64_t seed = 0;
  bool shuffle = true;
  SourceLoc loc;
};

} // namespace nabla
