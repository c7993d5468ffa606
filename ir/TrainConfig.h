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

#include <cstdint>
#include <optional>
#include <string>
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
const char *initializerName(Initializer::Kind kind);

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

struct OptimizerConfig {
  enum class Kind { Sgd, Adam, AdamW, RmsProp };
  Kind kind = Kind::Adam;
  double lr = 1e-3;
  double momentum = 0, weightDecay = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double alpha = 0.99; ///< rmsprop's smoothing constant
  SourceLoc loc;
};
const char *optimizerName(OptimizerConfig::Kind kind);

struct TrainConfig {
  std::vector<std::pair<std::string, DataSource>> data, test; ///< input name -> source
  std::optional<OptimizerConfig> optimizer;
  std::optional<int64_t> batch, epochs;
  int64_t seed = 0;
  bool shuffle = true;
  SourceLoc loc;
};

} // namespace nabla
