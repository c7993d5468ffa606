//===- ArgumentLoader.h - Params and inputs from files ----------*- C++ -*-===//
//
// Fills a function's arguments from the files named on the command line: the
// params from one safetensors file, each input from its --feed file. Checks
// dtypes and shapes against the declarations, binds symbolic sizes from the
// data (a size bound two ways is an error naming both files), and checks
// that labels are within the class count. Errors name the file and what was
// expected.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "CommandLine.h"

#include "data/TensorFiles.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"

#include <map>

#include <optional>
#include <string>
#include <vector>

namespace nabla::driver {

class ArgumentLoader {
public:
  ArgumentLoader(const ir::Function &fn, DiagnosticEngine &diags);

  /// Loads every param from the safetensors file `path` (other tensors in the
  /// file are ignored).
  bool loadParams(const std::string &path);
  /// Loads every argument of `role` from `tensors`, read from `path`
  /// (moving them out; tensors no argument names are ignored).
  bool loadArguments(ir::ArgRole role, std::vector<NamedTensor> &tensors, const std::string &path);
  /// Moves the loaded arguments of `role` out, by name.
  std::map<std::string, Tensor> take(ir::ArgRole role);
  /// Loads every input from its `NAME=FILE` feed; each input is fed once.
  bool loadFeeds(const std::vector<cli::NamedPath> &feeds);
  /// Checks labels that go straight from an input into cross_entropy or
  /// one_hot against the class count.
  bool checkLabels();

  /// One tensor per argument of the function, in order.
  std::vector<const Tensor *> arguments() const;
  const ir::SymbolBindings &bindings() const { return bindings_; }
  /// The function whose arguments it loads.
  const ir::Function &function() const { return fn_; }

private:
  bool bind(const ir::Argument &arg, const Tensor &t, const std::string &file);

  const ir::Function &fn_;
  DiagnosticEngine &diags_;
  std::vector<std::optional<Tensor>> values_; ///< per argument
  std::vector<std::string> files_;            ///< where each came from
  ir::SymbolBindings bindings_;
  std::map<std::string, std::string> boundBy_; ///< symbol -> "input 'x' in FILE"
};

/// The shortest decimal that reads back as element 0 of `t` in its dtype.
std::string formatScalar(const Tensor &t);

} // namespace nabla::driver
