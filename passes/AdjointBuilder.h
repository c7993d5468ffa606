//===- AdjointBuilder.h - What adjoint rules build with ---------*- C++ -*-===//
//
// The vector-Jacobian rules of passes/AdjointRules.cpp emit the backward
// ops through this builder: the IR's builder (every op it appends carries
// the source position of the forward op being differentiated), plus
// `contribute`, which adds a gradient to an operand's (summing fan-out).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"

#include <functional>

namespace nabla::passes {

class AdjointBuilder : public ir::Builder {
public:
  using Contribute = std::function<void(ir::Value *operand, ir::Value *gradient)>;
  using Needs = std::function<bool(const ir::Value *)>;

  AdjointBuilder(ir::Function &fn, Contribute contribute, Needs needs)
      : Builder(fn), contribute_(std::move(contribute)), needs_(std::move(needs)) {}

  /// Whether `v` needs a gradient (it depends on a param and the loss on it).
  bool needs(const ir::Value *v) const { return needs_(v); }
  /// Adds `gradient` to the gradient of `operand` (when it needs one).
  void contribute(ir::Value *operand, ir::Value *gradient) {
    if (needs(operand))
      contribute_(operand, gradient);
  }

private:
  Contribute contribute_;
  Needs needs_;
};

} // namespace nabla::passes
