#include "codegen/Kernels.h"

namespace nabla::codegen {

using ir::OpKind;

void emitKernel(KernelBuilder &k) {
  switch (k.op.kind) {
  case OpKind::Constant:
  case OpKind::DimSize:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Slice: emitDataMovement(k); break;
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin:
  case OpKind::LogSumExp: emitReduction(k); break;
  case OpKind::MatMul: emitMatMul(k); break;
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
  case OpKind::OneHot:
  case OpKind::Argmax:
  case OpKind::CrossEntropy:
  case OpKind::BceWithLogits: emitNeural(k); break;
  case OpKind::Conv2d:
  case OpKind::Conv2dBackwardInput:
  case OpKind::Conv2dBackwardWeight: emitConvolution(k); break;
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
  case OpKind::MaxPool2dBackward:
  case OpKind::MaxPool2dTangent:
  case OpKind::AvgPool2dBackward: emitPooling(k); break;
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
  case OpKind::StopGradient: emitElementwise(k); break; // every op with the kElementwise trait
  }
  k.b.CreateRetVoid();
}

} // namespace nabla::codegen
