//===- ElementwiseKernels.cpp - One loop over the elements ----------------===//
//
// Operands and result share one shape, so one flat loop computes every
// element. The scalar formulas are the interpreter's, including how NaN
// propagates, and the stable forms of sigmoid and softplus.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"

#include <cassert>
#include <cmath>

namespace nabla::codegen {

namespace {

/// Formulas of element-wise ops on scalars or vectors `x`, one per family.
struct ScalarFormulas {
  KernelBuilder &k;
  const ir::Op &op;
  const std::vector<llvm::Value *> &x;
  llvm::IRBuilder<> &b = k.b;
  DType dt = op.result.type.dtype;
  llvm::Value *zero = x.empty() ? nullptr : llvm::Constant::getNullValue(x[0]->getType());

  llvm::Value *c(double v) { return k.constant(dt, v); }

  llvm::Value *unary(ir::UnaryOp kind) {
    using ir::UnaryOp;
    switch (kind) {
    case UnaryOp::Neg: return b.CreateFNeg(x[0]);
    case UnaryOp::Exp: return k.exp(x[0]);
    case UnaryOp::Log: return k.log(x[0]);
    case UnaryOp::Sqrt: return k.intrinsic(llvm::Intrinsic::sqrt, {x[0]});
    case UnaryOp::Abs: return k.intrinsic(llvm::Intrinsic::fabs, {x[0]});
    case UnaryOp::Tanh: return k.libm("tanh", x[0]);
    case UnaryOp::Erf: return k.libm("erf", x[0]);
    case UnaryOp::Sin: return k.intrinsic(llvm::Intrinsic::sin, {x[0]});
    case UnaryOp::Cos: return k.intrinsic(llvm::Intrinsic::cos, {x[0]});
    case UnaryOp::Log1p: return k.libm("log1p", x[0]);
    case UnaryOp::Expm1: return k.libm("expm1", x[0]);
    case UnaryOp::Sigmoid: {
      // 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) otherwise: e^-|x| never overflows.
      llvm::Value *e = k.exp(b.CreateFNeg(k.intrinsic(llvm::Intrinsic::fabs, {x[0]})));
      llvm::Value *s = k.div(c(1), k.add(c(1), e));
      return b.CreateSelect(b.CreateFCmpOGE(x[0], zero), s, k.mul(e, s));
    }
    case UnaryOp::Relu: // x where x > 0 or NaN, else 0
      return b.CreateSelect(b.CreateFCmpUGT(x[0], zero), x[0], zero);
    case UnaryOp::Softplus: { // max(x, 0) + log1p(e^-|x|)
      llvm::Value *e = k.exp(b.CreateFNeg(k.intrinsic(llvm::Intrinsic::fabs, {x[0]})));
      return k.add(k.maximum(x[0], zero), k.libm("log1p", e));
    }
    case UnaryOp::Gelu: // x/2 (1 + erf(x/sqrt 2))
      return k.mul(k.mul(c(0.5), x[0]), k.add(c(1), k.libm("erf", k.mul(x[0], c(M_SQRT1_2)))));
    case UnaryOp::LeakyRelu:
      return b.CreateSelect(b.CreateFCmpOGT(x[0], zero), x[0], k.mul(c(op.attrs.alpha), x[0]));
    case UnaryOp::Elu:
      return b.CreateSelect(b.CreateFCmpOGT(x[0], zero), x[0],
                            k.mul(c(op.attrs.alpha), k.libm("expm1", x[0])));
    case UnaryOp::StopGradient: return x[0];
    }
    return nullptr;
  }

  llvm::Value *binary(ir::BinaryOp kind) {
    using ir::BinaryOp;
    switch (kind) {
    case BinaryOp::Add: return k.add(x[0], x[1]);
    case BinaryOp::Sub: return k.sub(x[0], x[1]);
    case BinaryOp::Mul: return k.mul(x[0], x[1]);
    case BinaryOp::Div: return k.div(x[0], x[1]);
    case BinaryOp::Pow: return k.intrinsic(llvm::Intrinsic::pow, {x[0], x[1]});
    case BinaryOp::Max: return k.maximum(x[0], x[1]);
    case BinaryOp::Min: return k.minimum(x[0], x[1]);
    case BinaryOp::SafeMul: // 0 where a = 0, else a b
      return b.CreateSelect(b.CreateFCmpOEQ(x[0], zero), zero, k.mul(x[0], x[1]));
    }
    return nullptr;
  }

  /// Of floats (ordered, except !=) or of labels; a 0/1 mask.
  llvm::Value *comparison(ir::ComparisonOp kind) {
    using P = llvm::CmpInst::Predicate;
    bool isFloat = x[0]->getType()->isFloatingPointTy();
    auto pick = [&](P floats, P labels) { return isFloat ? floats : labels; };
    P predicate = P::BAD_FCMP_PREDICATE;
    switch (kind) {
    case ir::ComparisonOp::Eq: predicate = pick(P::FCMP_OEQ, P::ICMP_EQ); break;
    case ir::ComparisonOp::Ne: predicate = pick(P::FCMP_UNE, P::ICMP_NE); break;
    case ir::ComparisonOp::Lt: predicate = pick(P::FCMP_OLT, P::ICMP_SLT); break;
    case ir::ComparisonOp::Le: predicate = pick(P::FCMP_OLE, P::ICMP_SLE); break;
    case ir::ComparisonOp::Gt: predicate = pick(P::FCMP_OGT, P::ICMP_SGT); break;
    case ir::ComparisonOp::Ge: predicate = pick(P::FCMP_OGE, P::ICMP_SGE); break;
    }
    return k.toMask(b.CreateCmp(predicate, x[0], x[1]), dt);
  }

  llvm::Value *select() {
    llvm::Value *chosen = x[0]->getType()->isFloatingPointTy() ? b.CreateFCmpUNE(x[0], zero)
                                                               : b.CreateICmpNE(x[0], zero);
    return b.CreateSelect(chosen, x[1], x[2]);
  }
};

} // namespace

llvm::Value *emitScalar(KernelBuilder &k, const ir::Op &op, const std::vector<llvm::Value *> &x) {
  ScalarFormulas f{k, op, x};
  switch (op.info().family) {
  case ir::OpFamily::Unary: return f.unary(ir::asUnary(op.kind));
  case ir::OpFamily::Binary: return f.binary(ir::asBinary(op.kind));
  case ir::OpFamily::Comparison: return f.comparison(ir::asComparison(op.kind));
  case ir::OpFamily::Select: return f.select();
  case ir::OpFamily::Leaf:
  case ir::OpFamily::Layout:
  case ir::OpFamily::Reduction:
  case ir::OpFamily::MatMul:
  case ir::OpFamily::Neural:
  case ir::OpFamily::Convolution:
  case ir::OpFamily::Pooling:
  case ir::OpFamily::Loop: break;
  }
  assert(false && "not an element-wise op");
  return nullptr;
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
