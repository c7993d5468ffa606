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
#include "frontend/SourceManager.h"
#include "frontend/Types.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nabla {

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
};

struct Node {
  enum class Kind { Input, Param, Constant, Op };
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
