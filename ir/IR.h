//===- IR.h - The Nabla graph IR --------------------------------*- C++ -*-===//
//
// A Module holds Functions. A Function has typed arguments (inputs fed at
// every step, and trained params), a list of Ops in SSA order (every operand
// is an argument or the result of an earlier op), and named results (the
// loss, outputs, metrics, gradients). Every Op has one result Value; every
// Value has a dtype and a shape whose sizes may be symbolic; every Op keeps
// the source position of the script text it came from.
//
// The op set is ir/Ops.def; the text form is docs/ir.md.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Ops.h"
#include "ir/TrainConfig.h"
#include "support/SourceManager.h"
#include "support/Types.h"

#include <memory>
#include <string>
#include <vector>

namespace nabla::ir {

class Op;
class Function;

/// The attributes of an op; each op uses the fields its AttrKind mask names.
struct Attrs {
  double value = 0;           ///< constant
  Dim dim;                    ///< dim_size
  std::vector<int64_t> axes;  ///< reductions
  bool keepdims = false;      ///< reductions
  int64_t axis = 0;           ///< softmax, log_softmax, argmax, concat, slice
  double alpha = 0;           ///< leaky_relu, elu
  int64_t classes = 0;        ///< one_hot
  std::vector<int64_t> perm;  ///< transpose
  bool transposeA = false;    ///< matmul
  bool transposeB = false;    ///< matmul
  int64_t stride[2] = {1, 1}; ///< conv2d, pools
  int64_t padding[2] = {0, 0};
  int64_t window[2] = {1, 1};
  Dim start{0};         ///< slice, pad
  bool fromEnd = false; ///< slice, pad: start counts back from the end of the axis
  bool reverse = false; ///< scan, scan_grad: visit the last step first
  /// scan, scan_grad: the function run at each step (ir/Loops.h). Never
  /// changed once built: a pass that rewrites it makes a new one, so ops
  /// and clones may share it.
  std::shared_ptr<const Function> body;
  /// scan: which of its body's results the op stacks (0: the states; -1:
  /// the states time-major, ir/Loops.h);
  /// scan_grad: the operand whose gradient the op is.
  int64_t part = 0;
  std::vector<int64_t> grads; ///< scan_grad: the operands whose gradients its loop computes
  int64_t residuals = 0;      ///< scan_grad: the stacked residuals after its gradient operand

  /// Equal in the fields that `mask` (an AttrKind mask) names.
  bool equals(const Attrs &other, unsigned mask) const;
};

/// A typed SSA value: a function argument or an op's result.
class Value {
public:
  TensorType type;
  std::string name;  ///< a readable name for printing ("h1"), may be empty
  Op *def = nullptr; ///< the defining op; null for an argument
};

class Op {
public:
  OpKind kind;
  std::vector<Value *> operands;
  Attrs attrs;
  SourceLoc loc;
  Value result;
  /// The fusion group the op belongs to (its ops are consecutive and compile
  /// to one kernel), or -1. Printed as a `fused { ... }` block.
  int group = -1;

  const OpInfo &info() const { return opInfo(kind); }
};

/// Inputs are fed at every step; params are trained; state is the optimizer's
/// (moments, the step count), carried from one step to the next.
enum class ArgRole { Input, Param, State };
const char *roleName(ArgRole role);

struct Argument {
  ArgRole role = ArgRole::Input;
  Value value;
  Initializer init; ///< params
  SourceLoc loc;
};

/// Grad: d loss / d param. Update: a param's value after the optimizer's step.
/// State: a state argument's value after the step.
/// What a function returns a value for. Residual: pred - target of an mse
/// loss, for the Levenberg-Marquardt optimizer (lm), which needs its Jacobian
/// (named kResidualName).
enum class ResultRole { Loss, Output, Metric, Grad, Update, State, Residual };
const char *roleName(ResultRole role);
/// The name of a Residual result.
inline constexpr const char *kResidualName = "r";

struct Result {
  ResultRole role = ResultRole::Output;
  std::string name; ///< the output, metric, param or state name ("" for the loss)
  Value *value = nullptr;
};

class Function {
public:
  explicit Function(std::string name) : name(std::move(name)) {}
  Function(const Function &) = delete;
  Function &operator=(const Function &) = delete;

  std::string name;
  std::vector<std::unique_ptr<Argument>> args;
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<Result> results;

  Argument *addArgument(ArgRole role, std::string name, TensorType type, SourceLoc loc);
  /// Appends an op; `type` is the result's type (the verifier checks it).
  Value *append(OpKind kind, std::vector<Value *> operands, TensorType type, Attrs attrs,
                SourceLoc loc, std::string name = "");
  void addResult(ResultRole role, std::string name, Value *value);

  /// The argument called `name` with `role`, or null.
  Argument *findArgument(ArgRole role, const std::string &name) const;
  /// The result with `role` and `name`, or null.
  const Result *findResult(ResultRole role, const std::string &name = "") const;
  std::vector<Argument *> arguments(ArgRole role) const;
};

class Module {
public:
  std::vector<std::unique_ptr<Function>> functions;
  /// The script's training settings, when it has a train block.
  std::optional<TrainConfig> train;

  Function *addFunction(std::string name);
  Function *lookup(const std::string &name) const;
};

/// Names of the functions the compiler produces: the forward step, and the
/// training step (forward and gradients) that the adjoint pass builds.
inline constexpr const char *kForwardFunction = "forward";
inline constexpr const char *kTrainStepFunction = "train_step";
/// The training step with the optimizer's update (params and state in, new
/// params and state out), which `nabla train` compiles.
inline constexpr const char *kUpdateFunction = "train_update";

} // namespace nabla::ir
