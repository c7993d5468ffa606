//===- Network.h - A compiled script for the Python module ------*- C++ -*-===//
//
// What `nabla.compile` returns, without Python: the script compiled once,
// its params and optimizer state in memory, and the operations of
// docs/python.md on tensors. predict, eval and step run the tool's own
// functions (@predict, @train_step, @train_update) on the JIT, each
// compiled once per set of sizes; fit and ir run the train and dump
// commands themselves, so their results are the command line's.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Compiler.h"
#include "runtime/Tensor.h"
#include "tools/nabla/CommandLine.h"
#include "tools/nabla/Driver.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nabla::python {

/// An error for Python: the exception it becomes and its message.
struct Failure {
  enum Kind {
    Compile, ///< nabla.CompileError: the script's diagnostics
    Value,   ///< ValueError: bad arrays, names, params files
    Missing, ///< FileNotFoundError: no script at the path
  } kind = Value;
  std::string message;
};

/// Named tensors in a given order.
using Arrays = std::vector<std::pair<std::string, Tensor>>;

/// nabla.compile's keyword arguments.
struct NetworkOptions {
  std::vector<std::pair<std::string, double>> sets; ///< set={"H": 64}
  bool f64 = false;                                 ///< dtype="f64"
  int threads = 0;                                  ///< 0: all cores
  std::string cpu = "native";
};

/// fit's keyword arguments; arrays given for data or test replace the
/// script's sources of those inputs.
struct FitOptions {
  std::optional<int64_t> epochs, batch;
  std::optional<uint64_t> seed;
  bool progress = true;
  Arrays data, test;
};

/// One epoch of fit: "epoch", "loss", each metric, "test_loss", ...
using EpochMetrics = std::vector<std::pair<std::string, double>>;

class Network {
public:
  /// Compiles the script at `path`, or `text` named `path` when given.
  static std::unique_ptr<Network> compile(const std::string &path, const std::string *text,
                                          const NetworkOptions &options, Failure &failure);

  /// The params, in declaration order.
  std::vector<std::pair<std::string, const Tensor *>> params() const;
  /// The dtype of the script's input `name`; nothing if there is none.
  std::optional<DType> inputDType(const std::string &name) const;
  /// "x, y": the script's inputs, for messages.
  std::string inputNames() const;
  /// Each input's and each output's name and type ("f32[B, 784]"), in
  /// declaration order.
  std::vector<std::pair<std::string, std::string>> inputTypes() const;
  std::vector<std::pair<std::string, std::string>> outputTypes() const;
  /// The script's path (or the name given to its text).
  const std::string &path() const { return path_; }

  /// Params from their initializers as `nabla train --seed` draws them;
  /// the optimizer starts afresh.
  void init(uint64_t seed);
  bool load(const std::string &path, Failure &failure);
  bool save(const std::string &path, Failure &failure) const;
  /// Replaces the params named (any subset), checking shapes and dtypes.
  bool setParams(Arrays arrays, Failure &failure);

  std::optional<Arrays> predict(Arrays inputs, Failure &failure);
  /// Loss, metrics and outputs by name, and the gradient of every param.
  std::optional<Arrays> eval(Arrays inputs, Arrays &grads, Failure &failure);
  /// One step of the script's optimizer; the batch's loss before it.
  std::optional<double> step(Arrays inputs, Failure &failure);
  std::optional<std::vector<EpochMetrics>> fit(const FitOptions &options, Failure &failure);
  /// A `dump --emit` stage.
  std::optional<std::string> ir(const std::string &stage, Failure &failure);

private:
  Network() = default;
  /// Sets up the command line a command run for this network starts from.
  cli::Options commandOptions(cli::Command command) const;
  /// The function for `which`, built and optimized on first use.
  ir::Function *function(cli::Command which, Failure &failure);
  /// Arguments for `fn`: `inputs` checked against its inputs (shapes,
  /// symbolic sizes, labels), the params, the optimizer state.
  std::optional<std::vector<const Tensor *>> bind(const ir::Function &fn, const Arrays &inputs,
                                                  ir::SymbolBindings &bindings, Failure &failure);
  /// Runs `fn` compiled for `bindings`.
  std::optional<std::vector<Tensor>> run(const ir::Function &fn,
                                         const std::vector<const Tensor *> &args,
                                         const ir::SymbolBindings &bindings, Failure &failure);
  /// Runs the function for `which` (stored in `fn`) on `inputs`, the
  /// params and the optimizer state.
  std::optional<std::vector<Tensor>> run(cli::Command which, Arrays inputs, const ir::Function *&fn,
                                         Failure &failure);
  /// The diagnostics reported so far, cleared.
  std::string takeDiagnostics();

  std::string path_;
  std::optional<std::string> text_;
  NetworkOptions options_;
  driver::Compilation c_;
  /// The function the others derive from (@forward): read without the lock,
  /// as it never changes once compiled, while the module gains functions.
  const ir::Function *source_ = nullptr;
  std::unique_ptr<codegen::Compiler> compiler_;
  std::map<cli::Command, ir::Function *> functions_;
  std::map<std::string, Tensor> params_, state_;
  int64_t epochsDone_ = 0;
  /// One call at a time: the Python layer releases the GIL.
  mutable std::mutex mutex_;
};

} // namespace nabla::python
