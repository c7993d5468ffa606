//===- ElementwiseKernels.cpp - One loop over the elements ----------------===//
//
// Operands and result share one shape, so one flat loop computes every
// element. The scalar formulas are the interpreter's, including how NaN
// propagates, and the stable forms of sigmoid and softplus.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"

#include <cmath>

namespace nabla::codegen {

using ir::OpKind;

llvm::Value *emitScalar(KernelBuilder &k, const ir::Op &op, const std::vector<llvm::Value *> &x) {
  auto &b = k.b;
  DType dt = op.result.type.dtype;
  auto c = [&](double v) { return k.constant(dt, v); };
  llvm::Value *zero = x.empty() ? nullptr : llvm::Constant::getNullValue(x[0]->getType());
  switch (op.kind) {
  case OpKind::Neg: return b.CreateFNeg(x[0]);
  case OpKind::Exp: return k.exp(x[0]);
  case OpKind::Log: return k.log(x[0]);
  case OpKind::Sqrt: return k.intrinsic(llvm::Intrinsic::sqrt, {x[0]});
  case OpKind::Abs: return k.intrinsic(llvm::Intrinsic::fabs, {x[0]});
  case OpKind::Tanh: return k.libm("tanh", x[0]);
  case OpKind::Erf: return k.libm("erf", x[0]);
  case OpKind::Sin: return k.intrinsic(llvm::Intrinsic::sin, {x[0]});
  case OpKind::Cos: return k.intrinsic(llvm::Intrinsic::cos, {x[0]});
  case OpKind::Sigmoid: {
    // 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) otherwise: e^-|x| never overflows.
    llvm::Value *e = k.exp(b.CreateFNeg(k.intrinsic(llvm::Intrinsic::fabs, {x[0]})));
    llvm::Value *s = k.div(c(1), k.add(c(1), e));
    return b.CreateSelect(b.CreateFCmpOGE(x[0], zero), s, k.mul(e, s));
  }
  case OpKind::Relu: // x where x > 0 or NaN, else 0
    return b.CreateSelect(b.CreateFCmpUGT(x[0], zero), x[0], zero);
  case OpKind::Softplus: { // max(x, 0) + log1p(e^-|x|)
    llvm::Value *e = k.exp(b.CreateFNeg(k.intrinsic(llvm::Intrinsic::fabs, {x[0]})));
    return k.add(k.maximum(x[0], zero), k.libm("log1p", e));
  }
  case OpKind::Gelu: // x/2 (1 + erf(x/sqrt 2))
    return k.mul(k.mul(c(0.5), x[0]), k.add(c(1), k.libm("erf", k.mul(x[0], c(M_SQRT1_2)))));
  case OpKind::LeakyRelu:
    return b.CreateSelect(b.CreateFCmpOGT(x[0], zero), x[0], k.mul(c(op.attrs.alpha), x[0]));
  case OpKind::Elu:
    return b.CreateSelect(b.CreateFCmpOGT(x[0], zero), x[0],
                          k.mul(c(op.attrs.alpha), k.libm("expm1", x[0])));
  case OpKind::StopGradient: return x[0];
  case OpKind::Add: return k.add(x[0], x[1]);
  case OpKind::Sub: return k.sub(x[0], x[1]);
  case OpKind::Mul: return k.mul(x[0], x[1]);
  case OpKind::Div: return k.div(x[0], x[1]);
  case OpKind::Pow: return k.intrinsic(llvm::Intrinsic::pow, {x[0], x[1]});
  case OpKind::Max: return k.maximum(x[0], x[1]);
  case OpKind::Min: return k.minimum(x[0], x[1]);
  case OpKind::SafeMul: // 0 where a = 0, else a b
    return b.CreateSelect(b.CreateFCmpOEQ(x[0], zero), zero, k.mul(x[0], x[1]));
  case OpKind::Select: {
    llvm::Value *chosen = x[0]->getType()->isFloatingPointTy() ? b.CreateFCmpUNE(x[0], zero)
                                                               : b.CreateICmpNE(x[0], zero);
    return b.CreateSelect(chosen, x[1], x[2]);
  }
  case OpKind::Constant:
  case OpKind::DimSize:
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Slice:
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
  // Comparisons: of floats (ordered, except !=) or of labels; a 0/1 mask.
  bool isFloat = x[0]->getType()->isFloatingPointTy();
  llvm::Value *cond = nullptr;
  switch (op.kind) {
  case OpKind::Eq: cond = isFloat ? b.CreateFCmpOEQ(x[0], x[1]) : b.CreateICmpEQ(x[0], x[1]); break;
  case OpKind::Ne: cond = isFloat ? b.CreateFCmpUNE(x[0], x[1]) : b.CreateICmpNE(x[0], x[1]); break;
  case OpKind::Lt:
    cond = isFloat ? b.CreateFCmpOLT(x[0], x[1]) : b.CreateICmpSLT(x[0], x[1]);
    break;
  case OpKind::Le:
    cond = isFloat ? b.CreateFCmpOLE(x[0], x[1]) : b.CreateICmpSLE(x[0], x[1]);
    break;
  case OpKind::Gt:
    cond = isFloat ? b.CreateFCmpOGT(x[0], x[1]) : b.CreateICmpSGT(x[0], x[1]);
    break;
  case OpKind::Ge:
    cond = isFloat ? b.CreateFCmpOGE(x[0], x[1]) : b.CreateICmpSGE(x[0], x[1]);
    break;
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
  case OpKind::Select:
  case OpKind::StopGradient:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Slice:
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
  return k.toMask(cond, dt);
}

void emitElementwise(KernelBuilder &k) {
  k.loop(0, product(k.outShape), [&](llvm::Value *i) {
    std::vector<llvm::Value *> x;
    for (size_t j = 0; j < k.op.operands.size(); ++j)
      x.push_back(k.loadIn(j, i));
    k.storeOut(emitScalar(k, k.op, x), i);
  });
}

} // namespace nabla::codegen
