#include "ir/Builder.h"

#include <algorithm>

namespace nabla::ir {

Value *Builder::create(OpKind kind, std::vector<Value *> operands, TensorType type, Attrs attrs) {
  Value *v = fn_.append(kind, std::move(operands), std::move(type), std::move(attrs), loc_);
  if (onCreate_)
    onCreate_(*v->def);
  return v;
}

Value *Builder::same(OpKind kind, std::vector<Value *> operands, Attrs attrs) {
  TensorType type = operands[0]->type;
  return create(kind, std::move(operands), std::move(type), std::move(attrs));
}

Value *Builder::constant(double value, const TensorType &type) {
  Attrs a;
  a.value = value;
  return create(OpKind::Constant, {}, type, a);
}

Value *Builder::size(const Dim &d, const TensorType &type) {
  if (d.isConcrete())
    return constant(double(d.coefficient()), type);
  Attrs a;
  a.dim = d;
  return create(OpKind::DimSize, {}, type, a);
}

Value *Builder::scale(Value *a, double k) {
  Value *factor = constant(k, a->type);
  return mul(a, factor);
}

Value *Builder::reshape(Value *v, const Shape &shape) {
  if (v->type.shape == shape)
    return v;
  return create(OpKind::Reshape, {v}, TensorType{v->type.dtype, shape});
}

Value *Builder::broadcast(Value *v, const Shape &shape) {
  if (v->type.shape == shape)
    return v;
  return create(OpKind::Broadcast, {v}, TensorType{v->type.dtype, shape});
}

Value *Builder::transpose(Value *v, std::vector<int64_t> perm) {
  Shape shape;
  for (int64_t axis : perm)
    shape.push_back(v->type.shape[size_t(axis)]);
  Attrs a;
  a.perm = std::move(perm);
  return create(OpKind::Transpose, {v}, TensorType{v->type.dtype, shape}, a);
}

Value *Builder::slice(Value *v, int64_t axis, const Dim &start, const TensorType &type) {
  Attrs a;
  a.axis = axis;
  a.start = start;
  return create(OpKind::Slice, {v}, type, a);
}

Value *Builder::concat(std::vector<Value *> parts, int64_t axis, const TensorType &type) {
  Attrs a;
  a.axis = axis;
  return create(OpKind::Concat, std::move(parts), type, a);
}

Value *Builder::reduceSum(Value *v, std::vector<int64_t> axes, bool keepdims) {
  if (axes.empty())
    return v;
  Shape shape;
  for (unsigned d = 0; d < v->type.rank(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
    if (!reduced)
      shape.push_back(v->type.shape[d]);
    else if (keepdims)
      shape.push_back(Dim(1));
  }
  Attrs a;
  a.axes = std::move(axes);
  a.keepdims = keepdims;
  return create(OpKind::ReduceSum, {v}, TensorType{v->type.dtype, shape}, a);
}

Value *Builder::sumTo(Value *g, const Shape &shape) {
  const Shape &from = g->type.shape;
  size_t lead = from.size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t d = 0; d < from.size(); ++d)
    if (d < lead || (shape[d - lead].isOne() && !from[d].isOne()))
      axes.push_back(int64_t(d));
  return reshape(reduceSum(g, axes, /*keepdims=*/false), shape);
}

Value *Builder::expand(Value *g, const std::vector<int64_t> &axes, bool keepdims,
                       const Shape &shape) {
  Shape kept = shape;
  for (int64_t axis : axes)
    kept[axis] = Dim(1);
  Value *k = keepdims ? g : reshape(g, kept);
  return broadcast(k, shape);
}

Value *Builder::matmul(Value *a, Value *b, bool transposeA, bool transposeB,
                       const TensorType &type) {
  Attrs attrs;
  attrs.transposeA = transposeA;
  attrs.transposeB = transposeB;
  return create(OpKind::MatMul, {a, b}, type, attrs);
}

} // namespace nabla::ir
