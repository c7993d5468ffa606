#include "passes/ConstantFold.h"
#include "passes/Rewriter.h"

#include "ir/Interpreter.h"

namespace nabla::passes {

using namespace ir;

namespace {

/// The splat value `op` computes from constant operands, if it can be known.
std::optional<double> fold(const Op &op) {
  if (op.kind == OpKind::DimSize)
    return op.attrs.dim.isConcrete() ? std::optional<double>(double(op.attrs.dim.coefficient()))
                                     : std::nullopt;
  if (op.operands.empty() || !isFloat(op.result.type.dtype))
    return std::nullopt;
  std::vector<double> values;
  for (const Value *v : op.operands) {
    std::optional<double> c = constantValue(v);
    if (!c)
      return std::nullopt;
    values.push_back(*c);
  }
  if (hasTrait(op.kind, kElementwise))
    return evaluateElement(op, values);
  switch (familyOf(op.kind)) {
  case OpFamily::Layout: // moving copies of c around gives copies of c
    switch (asLayout(op.kind)) {
    case LayoutOp::Reshape:
    case LayoutOp::Transpose:
    case LayoutOp::Broadcast: return values[0];
    case LayoutOp::Concat:
    case LayoutOp::Slice:
    case LayoutOp::Pad: return std::nullopt;
    }
    break;
  case OpFamily::Reduction:
    switch (asReduction(op.kind)) {
    case ReductionOp::ReduceMax:
    case ReductionOp::ReduceMin: return values[0];
    case ReductionOp::ReduceSum: {
      // n copies of c: n c, when n is known.
      double count = 1;
      for (int64_t axis : op.attrs.axes) {
        const Dim &d = op.operands[0]->type.shape[size_t(axis)];
        if (!d.isConcrete())
          return std::nullopt;
        count *= double(d.coefficient());
      }
      double sum = values[0] * count;
      return op.result.type.dtype == DType::F32 ? double(float(sum)) : sum;
    }
    case ReductionOp::LogSumExp: return std::nullopt;
    }
    break;
  case OpFamily::Leaf:
  case OpFamily::Unary:
  case OpFamily::Binary:
  case OpFamily::Comparison:
  case OpFamily::Select:
  case OpFamily::MatMul:
  case OpFamily::Neural:
  case OpFamily::Convolution:
  case OpFamily::Pooling:
  case OpFamily::Loop: break;
  }
  return std::nullopt;
}

} // namespace

bool foldConstants(Function &fn) {
  Rewriter rewriter(fn);
  return rewriter.run([&](Op &op) -> Value * {
    if (op.kind == OpKind::Constant)
      return nullptr;
    std::optional<double> value = fold(op);
    return value ? rewriter.builder().constant(*value, op.result.type) : nullptr;
  });
}

} // namespace nabla::passes
