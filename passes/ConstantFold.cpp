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
  switch (op.kind) {
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Broadcast:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin: return values[0];
  case OpKind::ReduceSum: {
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
  case OpKind::Constant:
  case OpKind::DimSize:
  case OpKind::Neg:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Sqrt:
  case OpKind::Abs:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Relu:
  case OpKind::Softplus:
  case OpKind::Gelu:
  case OpKind::Erf:
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::LeakyRelu:
  case OpKind::Elu:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::SafeMul:
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::Select:
  case OpKind::StopGradient:
  case OpKind::Concat:
  case OpKind::Slice:
  case OpKind::LogSumExp:
  case OpKind::MatMul:
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
  case OpKind::OneHot:
  case OpKind::Argmax:
  case OpKind::CrossEntropy:
  case OpKind::BceWithLogits:
  case OpKind::Conv2d:
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
  case OpKind::Conv2dBackwardInput:
  case OpKind::Conv2dBackwardWeight:
  case OpKind::MaxPool2dBackward:
  case OpKind::MaxPool2dTangent:
  case OpKind::AvgPool2dBackward: return std::nullopt;
  }
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
