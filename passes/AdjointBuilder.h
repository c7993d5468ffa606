//===- AdjointBuilder.h - What adjoint rules build with ---------*- C++ -*-===//
//
// The vector-Jacobian rules of passes/AdjointRules.cpp emit the backward
// ops through this builder: every op it appends carries the source position
// of the forward op being differentiated, and `contribute` adds a gradient
// to an operand's (summing fan-out).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <functional>

namespace nabla::passes {

class AdjointBuilder {
public:
  using Contribute = std::function<void(ir::Value *operand, ir::Value *gradient)>;
  using Needs = std::function<bool(const ir::Value *)>;

  AdjointBuilder(ir::Function &fn, Contribute contribute, Needs needs)
      : fn_(fn), contribute_(std::move(contribute)), needs_(std::move(needs)) {}

  /// The source position given to every op emitted from now on.
  void setLoc(SourceLoc loc) { loc_ = loc; }

  /// Whether `v` needs a gradient (it depends on a param and the loss on it).
  bool needs(const ir::Value *v) const { return needs_(v); }
  /// Adds `gradient` to the gradient of `operand` (when it needs one).
  void contribute(ir::Value *operand, ir::Value *gradient) {
    if (needs(operand))
      contribute_(operand, gradient);
  }

  ir::Value *emit(ir::OpKind kind, std::vector<ir::Value *> operands, TensorType type,
                  ir::Attrs attrs = {});
  /// `kind` with the type of its first operand (element-wise ops).
  ir::Value *same(ir::OpKind kind, std::vector<ir::Value *> operands, ir::Attrs attrs = {});
  ir::Value *constant(double value, const TensorType &type);
  /// A float 0/1 mask of comparing a with b.
  ir::Value *compare(ir::OpKind kind, ir::Value *a, ir::Value *b);
  /// `g` times a local derivative, zero wherever g is zero.
  ir::Value *safeMul(ir::Value *g, ir::Value *derivative);

  ir::Value *reshape(ir::Value *v, const Shape &shape);
  ir::Value *broadcast(ir::Value *v, const Shape &shape);
  ir::Value *reduceSum(ir::Value *v, std::vector<int64_t> axes, bool keepdims);
  /// Sums `g` down to `shape`, undoing a broadcast from `shape` to g's shape.
  ir::Value *sumTo(ir::Value *g, const Shape &shape);
  /// The gradient of a reduction's result stretched back over its operand:
  /// `g` reshaped to keep the reduced axes as 1, then broadcast to `shape`.
  ir::Value *expand(ir::Value *g, const std::vector<int64_t> &axes, bool keepdims,
                    const Shape &shape);
  /// A size as a float tensor of `type` (a constant, or dim_size when symbolic).
  ir::Value *size(const Dim &d, const TensorType &type);

private:
  ir::Function &fn_;
  Contribute contribute_;
  Needs needs_;
  SourceLoc loc_;
};

} // namespace nabla::passes
