//===- NeuralKernels.cpp - softmax, one_hot, argmax, losses ---------------===//
#include "codegen/Kernels.h"

#include <limits>

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Calls body(base, stride, count) for each line of `shape` along `axis`.
void forEachLine(KernelBuilder &k, const Sizes &shape, int64_t axis,
                 const std::function<void(llvm::Value *, int64_t, int64_t)> &body) {
  int64_t count = shape[axis], inner = product(Sizes(shape.begin() + axis + 1, shape.end()));
  int64_t outer = product(Sizes(shape.begin(), shape.begin() + axis));
  k.loop(0, outer, [&](llvm::Value *o) {
    k.loop(0, inner, [&](llvm::Value *i) {
      body(k.b.CreateNSWAdd(k.b.CreateNSWMul(o, k.i64(count * inner)), i), inner, count);
    });
  });
}

/// base + c * stride
llvm::Value *at(KernelBuilder &k, llvm::Value *base, llvm::Value *c, int64_t stride) {
  return k.b.CreateNSWAdd(base, k.b.CreateNSWMul(c, k.i64(stride)));
}

/// The maximum of a line, and its log-sum-exp: m + log(sum of e^(x - m)).
/// Loops along a line stay loops (vectorized along the line when it is
/// long): unrolled, short lines would make LLVM vectorize across lines with
/// gathers, slower to compile and to run.
std::pair<llvm::Value *, llvm::Value *>
lineLogSumExp(KernelBuilder &k, size_t operand, llvm::Value *base, int64_t stride, int64_t count) {
  DType dt = k.inType(operand);
  llvm::Value *m = k.reduce(
      0, count, k.constant(dt, -std::numeric_limits<double>::infinity()),
      [&](llvm::Value *c, llvm::Value *acc) {
        return k.maximum(acc, k.loadIn(operand, at(k, base, c, stride)));
      },
      true);
  llvm::Value *s = k.reduce(
      0, count, k.constant(dt, 0),
      [&](llvm::Value *c, llvm::Value *acc) {
        return k.add(acc, k.exp(k.sub(k.loadIn(operand, at(k, base, c, stride)), m)));
      },
      true);
  return {m, k.add(m, k.log(s))};
}

} // namespace

void emitNeural(KernelBuilder &k) {
  DType dt = k.outType();
  auto &b = k.b;
  switch (ir::asNeural(k.op.kind)) {
  case ir::NeuralOp::Softmax:
  case ir::NeuralOp::LogSoftmax: {
    bool logarithm = k.op.kind == OpKind::LogSoftmax;
    forEachLine(k, k.outShape, k.op.attrs.axis, [&](llvm::Value *base, int64_t stride, int64_t n) {
      auto [m, lse] = lineLogSumExp(k, 0, base, stride, n);
      llvm::Value *logSum = k.sub(lse, m);
      k.loop(
          0, n,
          [&](llvm::Value *c) {
            llvm::Value *index = at(k, base, c, stride);
            llvm::Value *shifted = k.sub(k.loadIn(0, index), m);
            k.storeOut(logarithm ? k.sub(shifted, logSum) : k.exp(k.sub(shifted, logSum)), index);
          },
          true);
    });
    return;
  }
  case ir::NeuralOp::Argmax: {
    // The first largest element; NaN counts as largest.
    const Sizes &in = k.inShapes[0];
    llvm::AllocaInst *line = k.local(b.getInt64Ty(), k.i64(0));
    forEachLine(k, in, k.op.attrs.axis, [&](llvm::Value *base, int64_t stride, int64_t n) {
      llvm::AllocaInst *best = k.local(b.getInt64Ty(), k.i64(0));
      k.loop(1, n, [&](llvm::Value *c) {
        llvm::Value *x = k.loadIn(0, at(k, base, c, stride));
        llvm::Value *top = k.loadIn(0, at(k, base, b.CreateLoad(b.getInt64Ty(), best), stride));
        llvm::Value *better = b.CreateAnd(
            b.CreateFCmpORD(top, top), b.CreateOr(b.CreateFCmpOGT(x, top), b.CreateFCmpUNO(x, x)));
        b.CreateStore(b.CreateSelect(better, c, b.CreateLoad(b.getInt64Ty(), best)), best);
      });
      llvm::Value *o = b.CreateLoad(b.getInt64Ty(), line);
      k.storeOut(b.CreateTrunc(b.CreateLoad(b.getInt64Ty(), best), b.getInt32Ty()), o);
      b.CreateStore(b.CreateNSWAdd(o, k.i64(1)), line);
    });
    return;
  }
  case ir::NeuralOp::OneHot: {
    int64_t classes = k.op.attrs.classes;
    k.fill(0, product(k.outShape));
    k.loop(0, product(k.inShapes[0]), [&](llvm::Value *i) {
      llvm::Value *label = b.CreateSExt(k.loadIn(0, i), b.getInt64Ty());
      llvm::Value *inRange =
          b.CreateAnd(b.CreateICmpSGE(label, k.i64(0)), b.CreateICmpSLT(label, k.i64(classes)));
      k.ifThen(inRange, [&] { k.storeOut(k.constant(dt, 1), at(k, label, i, classes)); });
      k.ifThen(b.CreateNot(inRange), [&] { k.fail(i, label); });
    });
    return;
  }
  case ir::NeuralOp::CrossEntropy: {
    // mean over rows of logsumexp(row) - row[label]
    int64_t rows = k.inShapes[0][0], classes = k.inShapes[0][1];
    llvm::Value *total =
        k.reduce(0, rows, k.constant(dt, 0), [&](llvm::Value *r, llvm::Value *acc) {
          llvm::Value *base = b.CreateNSWMul(r, k.i64(classes));
          llvm::Value *lse = lineLogSumExp(k, 0, base, 1, classes).second;
          llvm::Value *label = b.CreateSExt(k.loadIn(1, r), b.getInt64Ty());
          llvm::Value *inRange =
              b.CreateAnd(b.CreateICmpSGE(label, k.i64(0)), b.CreateICmpSLT(label, k.i64(classes)));
          k.ifThen(b.CreateNot(inRange), [&] { k.fail(r, label); });
          llvm::Value *safe = b.CreateSelect(inRange, label, k.i64(0));
          llvm::Value *term = k.sub(lse, k.loadIn(0, b.CreateNSWAdd(base, safe)));
          return k.add(acc, b.CreateSelect(inRange, term, k.constant(dt, 0)));
        });
    k.storeOut(k.div(total, k.constant(dt, double(rows))), k.i64(0));
    return;
  }
  case ir::NeuralOp::BceWithLogits: {
    // mean of max(x, 0) - x t + log1p(e^-|x|)
    int64_t n = product(k.inShapes[0]);
    llvm::Value *total = k.reduce(0, n, k.constant(dt, 0), [&](llvm::Value *i, llvm::Value *acc) {
      llvm::Value *x = k.loadIn(0, i), *t = k.loadIn(1, i);
      llvm::Value *e = k.exp(b.CreateFNeg(k.intrinsic(llvm::Intrinsic::fabs, {x})));
      llvm::Value *term =
          k.add(k.sub(k.maximum(x, k.constant(dt, 0)), k.mul(x, t)), k.libm("log1p", e));
      return k.add(acc, term);
    });
    k.storeOut(k.div(total, k.constant(dt, double(n))), k.i64(0));
    return;
  }
  }
}

} // namespace nabla::codegen
