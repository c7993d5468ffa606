//===- Program.h - A checked script -----------------------------*- C++ -*-===//
//
// Sema's output and the lowering's input: every name resolved, every `def`
// expanded at its call sites, every const folded, every value typed. Values
// form a DAG of Nodes in creation order (operands always come first), one
// Node per builtin call or operator, with the call's compile-time arguments
// (axes, slopes, target shapes) resolved into NodeAttrs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Builtins.h"
#include "ir/TrainConfig.h"
#include "support/SourceManager.h"
#include "support/Types.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nabla {

struct Node;

/// Compile-time arguments of a node; each op reads the fields it uses.
struct NodeAttrs {
  std::vector<int64_t> axes;  ///< reductions: sorted, non-negative
  bool keepdims = false;      ///< reductions
  int64_t axis = 0;           ///< softmax, log_softmax, argmax, concat: non-negative
  double alpha = 0;           ///< leaky_relu's slope, elu's alpha
  int64_t classes = 0;        ///< one_hot's n
  std::vector<int64_t> perm;  ///< transpose: output axis i is input axis perm[i]
  int64_t stride[2] = {1, 1}; ///< conv2d, pools
  int64_t padding[2] = {0, 0};
  int64_t window[2] = {1, 1}; ///< pools: the window size
  /// index: per axis of the operand, the first position taken and how many
  /// (-1: the whole axis; a negative start counts back from the end of a
  /// symbolic axis); `axes` lists the axes an integer removed.
  std::vector<int64_t> starts, lengths;
  /// scan: visit the last step first.
  bool reverse = false;
  /// scan: the BodyArg nodes f was expanded on (the state, the slice, each
  /// tensor extra), and the state f returns, computed from them. Operands
  /// past the placeholders' count are values f read from outside (captures).
  std::vector<Node *> bodyArgs;
  Node *bodyResult = nullptr;
};

struct Node {
  /// BodyArg: a parameter of a def expanded as a scan's body (SemaScan.cpp).
  enum class Kind { Input, Param, Constant, Op, BodyArg };
  Kind kind = Kind::Op;
  Builtin op = Builtin::Add; ///< for Op
  std::vector<Node *> operands;
  NodeAttrs attrs;
  TensorType type;
  SourceLoc loc;       ///< the call, operator or declaration
  std::string name;    ///< the name the value was bound to, if any
  SourceLoc nameLoc;   ///< where that name was bound
  double constant = 0; ///< Constant: the value of every element
  unsigned index = 0;  ///< Input/Param: position in the program's list
  bool weak = false;   ///< Constant: a number still taking its dtype from context
  unsigned id = 0;     ///< creation order
};

struct InputDecl {
  std::string name;
  SourceLoc loc;
  Node *node;
};
struct ParamDecl {
  std::string name;
  SourceLoc loc;
  Node *node;
  Initializer init;
};
struct ConstDecl {
  std::string name;
  SourceLoc loc;
  double value;
};
/// An output or a metric.
struct NamedResult {
  std::string name;
  SourceLoc loc;
  Node *node;
};
struct SymbolDecl {
  std::string name;
  SourceLoc loc; ///< first use
};

struct Program {
  uint32_t file = 0;
  DType floatType = DType::F32; ///< f32, or f64 under --dtype f64
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<InputDecl> inputs;
  std::vector<ParamDecl> params;
  std::vector<ConstDecl> consts;
  std::vector<NamedResult> outputs;
  std::vector<NamedResult> metrics;
  Node *loss = nullptr;
  SourceLoc lossLoc;
  std::optional<TrainConfig> train;
  std::vector<SymbolDecl> symbols;
};

} // namespace nabla
