//===- Builder.h - Appending ops to a function ------------------*- C++ -*-===//
//
// The one way new ops are made: the lowering of a script, the adjoint rules,
// the optimizer updates and the rewriting passes all build through it. Each
// op it creates goes at the end of the function, at the builder's source
// position; a helper per op keeps a rule close to its math:
//
//   dx = g·y(1 - y)    ->    b.safeMul(g, b.mul(y, b.sub(one, y)))
//
// Element-wise helpers give the result the type of their first operand.
// C++ leaves the order in which a call's arguments are evaluated open: when
// two arguments both create ops, create them in statements of their own, so
// that the IR (and its printed numbering) does not depend on the compiler.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <functional>

namespace nabla::ir {

class Builder {
public:
  explicit Builder(Function &fn, SourceLoc loc = {}) : fn_(fn), loc_(loc) {}

  Function &function() { return fn_; }
  /// The source position given to every op created from now on.
  void setLoc(SourceLoc loc) { loc_ = loc; }
  SourceLoc loc() const { return loc_; }
  /// Called with each op this builder creates (the rewriter puts it into
  /// the fusion group of the op it replaces).
  void setOnCreate(std::function<void(Op &)> onCreate) { onCreate_ = std::move(onCreate); }

  /// Any op, of any type: what every helper below calls.
  Value *create(OpKind kind, std::vector<Value *> operands, TensorType type, Attrs attrs = {});
  /// `kind` with the type of its first operand (element-wise ops).
  Value *same(OpKind kind, std::vector<Value *> operands, Attrs attrs = {});

  // Leaves.
  /// Every element `value`.
  Value *constant(double value, const TensorType &type);
  /// A size as a float tensor of `type` (a constant, or dim_size when symbolic).
  Value *size(const Dim &d, const TensorType &type);

  // Element-wise, one operand.
  Value *neg(Value *x) { return same(OpKind::Neg, {x}); }
  Value *exp(Value *x) { return same(OpKind::Exp, {x}); }
  Value *log(Value *x) { return same(OpKind::Log, {x}); }
  Value *sqrt(Value *x) { return same(OpKind::Sqrt, {x}); }
  Value *sigmoid(Value *x) { return same(OpKind::Sigmoid, {x}); }
  Value *erf(Value *x) { return same(OpKind::Erf, {x}); }
  Value *sin(Value *x) { return same(OpKind::Sin, {x}); }
  Value *cos(Value *x) { return same(OpKind::Cos, {x}); }

  // Element-wise, two operands of one shape.
  Value *add(Value *a, Value *b) { return same(OpKind::Add, {a, b}); }
  Value *sub(Value *a, Value *b) { return same(OpKind::Sub, {a, b}); }
  Value *mul(Value *a, Value *b) { return same(OpKind::Mul, {a, b}); }
  Value *div(Value *a, Value *b) { return same(OpKind::Div, {a, b}); }
  Value *pow(Value *a, Value *b) { return same(OpKind::Pow, {a, b}); }
  /// `g` times a local derivative, zero wherever g is zero.
  Value *safeMul(Value *g, Value *derivative) { return same(OpKind::SafeMul, {g, derivative}); }
  /// a * k for a number k.
  Value *scale(Value *a, double k);
  /// A float 0/1 mask of comparing a with b (`kind` is eq, ne, lt, le, gt or ge).
  Value *compare(OpKind kind, Value *a, Value *b) { return create(kind, {a, b}, a->type); }
  /// [a > b], [a < b], [a = b] as float masks.
  Value *gt(Value *a, Value *b) { return compare(OpKind::Gt, a, b); }
  Value *lt(Value *a, Value *b) { return compare(OpKind::Lt, a, b); }
  Value *eq(Value *a, Value *b) { return compare(OpKind::Eq, a, b); }
  /// a where the mask is non-zero, else b.
  Value *select(Value *mask, Value *a, Value *b) {
    return create(OpKind::Select, {mask, a, b}, a->type);
  }

  // Shape.
  /// `v` as `shape` (itself when it has that shape already).
  Value *reshape(Value *v, const Shape &shape);
  /// `v` stretched to `shape` (itself when it has that shape already).
  Value *broadcast(Value *v, const Shape &shape);
  /// `v` with its axes permuted: axis i of the result is axis perm[i] of v.
  Value *transpose(Value *v, std::vector<int64_t> perm);
  /// Elements [start, start + size) of `v` along `axis`, as `type`.
  Value *slice(Value *v, int64_t axis, const Dim &start, const TensorType &type);
  /// `parts` joined along `axis`, as `type`.
  Value *concat(std::vector<Value *> parts, int64_t axis, const TensorType &type);

  // Reductions.
  /// Σ over `axes` (itself when there are none).
  Value *reduceSum(Value *v, std::vector<int64_t> axes, bool keepdims);
  /// Sums `g` down to `shape`, undoing a broadcast from `shape` to g's shape.
  Value *sumTo(Value *g, const Shape &shape);
  /// The gradient of a reduction's result stretched back over its operand:
  /// `g` reshaped to keep the reduced axes as 1, then broadcast to `shape`.
  Value *expand(Value *g, const std::vector<int64_t> &axes, bool keepdims, const Shape &shape);

  // Linear algebra.
  /// op(a) op(b) as `type`, op transposing where asked.
  Value *matmul(Value *a, Value *b, bool transposeA, bool transposeB, const TensorType &type);

private:
  Function &fn_;
  SourceLoc loc_;
  std::function<void(Op &)> onCreate_;
};

} // namespace nabla::ir
