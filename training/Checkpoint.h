//===- Checkpoint.h - Saved training runs -----------------------*- C++ -*-===//
//
// A checkpoint is a safetensors file: every param under its name, the
// optimizer's state under "optimizer.NAME", and metadata with the number of
// epochs done and the optimizer's name, so that --init continues a run
// exactly where it stopped. It is written atomically.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "data/TensorFiles.h"
#include "runtime/Tensor.h"

#include <optional>
#include <string>
#include <vector>

namespace nabla {

struct Checkpoint {
  std::vector<NamedTensor> params;
  std::vector<NamedTensor> state; ///< without the "optimizer." prefix
  int64_t epochs = 0;             ///< epochs done (0 for a file of params only)
  std::string optimizer;          ///< "" for a file of params only
};

using NamedTensors = std::vector<std::pair<std::string, const Tensor *>>;

bool saveCheckpoint(const std::string &path, const NamedTensors &params, const NamedTensors &state,
                    int64_t epochs, const std::string &optimizer, std::string &error);

/// Reads a checkpoint, or any safetensors file of params.
std::optional<Checkpoint> loadCheckpoint(const std::string &path, std::string &error);

} // namespace nabla
