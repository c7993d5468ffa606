//===- DataMovementKernels.cpp - Constants, broadcast, reshape, ... -------===//
#include "codegen/Kernels.h"

namespace nabla::codegen {

using ir::OpKind;

void emitDataMovement(KernelBuilder &k) {
  const Sizes &out = k.outShape;
  const ir::Attrs &a = k.op.attrs;
  switch (k.op.kind) {
  case OpKind::Constant: k.fill(a.value, product(out)); return;
  case OpKind::DimSize: k.fill(double(k.sizeOf(a.dim)), product(out)); return;
  case OpKind::Reshape:
    k.loop(0, product(out), [&](llvm::Value *i) { k.storeOut(k.loadIn(0, i), i); });
    return;
  case OpKind::Broadcast: {
    // Operand axes are aligned at the end; a size-1 axis repeats (stride 0).
    const Sizes &in = k.inShapes[0];
    Sizes inStrides = stridesOf(in), strides(out.size(), 0);
    size_t lead = out.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d)
      strides[lead + d] = in[d] == 1 ? 0 : inStrides[d];
    Sizes outStrides = stridesOf(out);
    k.forEachIndex(out, [&](const std::vector<llvm::Value *> &idx) {
      k.storeOut(k.loadIn(0, k.linear(idx, strides)), k.linear(idx, outStrides));
    });
    return;
  }
  case OpKind::Transpose: {
    Sizes inStrides = stridesOf(k.inShapes[0]), strides(out.size());
    for (size_t d = 0; d < out.size(); ++d)
      strides[d] = inStrides[a.perm[d]];
    Sizes outStrides = stridesOf(out);
    k.forEachIndex(out, [&](const std::vector<llvm::Value *> &idx) {
      k.storeOut(k.loadIn(0, k.linear(idx, strides)), k.linear(idx, outStrides));
    });
    return;
  }
  case OpKind::Concat: {
    Sizes outStrides = stridesOf(out);
    int64_t offset = 0;
    for (size_t p = 0; p < k.op.operands.size(); ++p) {
      const Sizes &part = k.inShapes[p];
      Sizes partStrides = stridesOf(part);
      k.forEachIndex(part, [&](const std::vector<llvm::Value *> &idx) {
        llvm::Value *dst = k.linear(idx, outStrides, offset * outStrides[a.axis]);
        k.storeOut(k.loadIn(p, k.linear(idx, partStrides)), dst);
      });
      offset += part[a.axis];
    }
    return;
  }
  case OpKind::Slice: {
    Sizes inStrides = stridesOf(k.inShapes[0]);
    int64_t start = k.sizeOf(a.start);
    Sizes outStrides = stridesOf(out);
    k.forEachIndex(out, [&](const std::vector<llvm::Value *> &idx) {
      llvm::Value *src = k.linear(idx, inStrides, start * inStrides[a.axis]);
      k.storeOut(k.loadIn(0, src), k.linear(idx, outStrides));
    });
    return;
  }
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
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin:
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
  case OpKind::AvgPool2dBackward: break;
  }
}

} // namespace nabla::codegen
