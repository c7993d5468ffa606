#include "passes/AdjointBuilder.h"

#include <algorithm>

namespace nabla::passes {

using namespace ir;

Value *AdjointBuilder::emit(OpKind kind, std::vector<Value *> operands, TensorType type,
                            Attrs attrs) {
  return fn_.append(kind, std::move(operands), std::move(type), std::move(attrs), loc_);
}

Value *AdjointBuilder::same(OpKind kind, std::vector<Value *> operands, Attrs attrs) {
  TensorType type = operands[0]->type;
  return emit(kind, std::move(operands), type, std::move(attrs));
}

Value *AdjointBuilder::constant(double value, const TensorType &type) {
  Attrs a;
  a.value = value;
  return emit(OpKind::Constant, {}, type, a);
}

Value *AdjointBuilder::compare(OpKind kind, Value *a, Value *b) {
  return emit(kind, {a, b}, a->type);
}

Value *AdjointBuilder::safeMul(Value *g, Value *derivative) {
  return emit(OpKind::SafeMul, {g, derivative}, g->type);
}

Value *AdjointBuilder::reshape(Value *v, const Shape &shape) {
  if (v->type.shape == shape)
    return v;
  return emit(OpKind::Reshape, {v}, TensorType{v->type.dtype, shape});
}

Value *AdjointBuilder::broadcast(Value *v, const Shape &shape) {
  if (v->type.shape == shape)
    return v;
  return emit(OpKind::Broadcast, {v}, TensorType{v->type.dtype, shape});
}

Value *AdjointBuilder::reduceSum(Value *v, std::vector<int64_t> axes, bool keepdims) {
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
  return emit(OpKind::ReduceSum, {v}, TensorType{v->type.dtype, shape}, a);
}

Value *AdjointBuilder::sumTo(Value *g, const Shape &shape) {
  const Shape &from = g->type.shape;
  size_t lead = from.size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t d = 0; d < from.size(); ++d)
    if (d < lead || (shape[d - lead].isOne() && !from[d].isOne()))
      axes.push_back(int64_t(d));
  return reshape(reduceSum(g, axes, /*keepdims=*/false), shape);
}

Value *AdjointBuilder::expand(Value *g, const std::vector<int64_t> &axes, bool keepdims,
                              const Shape &shape) {
  Shape kept = shape;
  for (int64_t axis : axes)
    kept[axis] = Dim(1);
  Value *k = keepdims ? g : reshape(g, kept);
  return broadcast(k, shape);
}

Value *AdjointBuilder::size(const Dim &d, const TensorType &type) {
  if (d.isConcrete())
    return constant(double(d.coefficient()), type);
  Attrs a;
  a.dim = d;
  return emit(OpKind::DimSize, {}, type, a);
}

} // namespace nabla::passes
