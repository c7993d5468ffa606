//===- ReductionKernels.cpp - reduce_sum/max/min and logsumexp ------------===//
//
// The result starts at the reduction's identity; one sweep over the operand
// in row-major order combines each element into its result element. When the
// last axis is reduced the innermost loop keeps a running value in a
// register, so it vectorizes as a horizontal reduction.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"

#include <algorithm>
#include <limits>

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Strides into the result for each operand axis: 0 for reduced axes.
Sizes resultStrides(const Sizes &in, const std::vector<int64_t> &axes) {
  Sizes kept = in;
  for (int64_t a : axes)
    kept[a] = 1;
  Sizes strides = stridesOf(kept);
  for (int64_t a : axes)
    strides[a] = 0;
  return strides;
}

/// For every operand element x and its result slot t[o]:
/// t[o] = combine(t[o], x, o).
void sweep(
    KernelBuilder &k, DType dt, llvm::Value *target,
    const std::function<llvm::Value *(llvm::Value *, llvm::Value *, llvm::Value *)> &combine) {
  const Sizes &in = k.inShapes[0];
  const std::vector<int64_t> &axes = k.op.attrs.axes;
  Sizes inStrides = stridesOf(in), outStrides = resultStrides(in, axes);
  size_t last = in.size() - 1;
  bool lastReduced = std::find(axes.begin(), axes.end(), int64_t(last)) != axes.end();
  Sizes outer(in.begin(), in.end() - 1);
  k.forEachIndex(outer, [&](const std::vector<llvm::Value *> &idx) {
    llvm::Value *inBase = k.linear(idx, inStrides);
    llvm::Value *outBase = k.linear(idx, outStrides);
    if (lastReduced) {
      llvm::Value *start = k.load(dt, target, outBase);
      llvm::Value *acc = k.reduce(0, in[last], start, [&](llvm::Value *j, llvm::Value *a) {
        return combine(a, k.loadIn(0, k.b.CreateNSWAdd(inBase, j)), outBase);
      });
      k.store(dt, acc, target, outBase);
    } else {
      k.loop(0, in[last], [&](llvm::Value *j) {
        llvm::Value *o = k.b.CreateNSWAdd(outBase, j);
        llvm::Value *x = k.loadIn(0, k.b.CreateNSWAdd(inBase, j));
        k.store(dt, combine(k.load(dt, target, o), x, o), target, o);
      });
    }
  });
}

} // namespace

void emitReduction(KernelBuilder &k) {
  DType dt = k.outType();
  int64_t n = product(k.outShape);
  if (k.inShapes[0].empty()) { // a scalar reduced over no axes
    k.storeOut(k.loadIn(0, k.i64(0)), k.i64(0));
    return;
  }
  const double inf = std::numeric_limits<double>::infinity();
  switch (k.op.kind) {
  case OpKind::ReduceSum:
    k.fill(0, n);
    sweep(k, dt, k.out(),
          [&](llvm::Value *t, llvm::Value *x, llvm::Value *) { return k.add(t, x); });
    return;
  case OpKind::ReduceMax:
    k.fill(-inf, n);
    sweep(k, dt, k.out(),
          [&](llvm::Value *t, llvm::Value *x, llvm::Value *) { return k.maximum(t, x); });
    return;
  case OpKind::ReduceMin:
    k.fill(inf, n);
    sweep(k, dt, k.out(),
          [&](llvm::Value *t, llvm::Value *x, llvm::Value *) { return k.minimum(t, x); });
    return;
  case OpKind::LogSumExp: {
    // max m, then s = sum of e^(x - m) in the scratch space, then m + log s
    // (m stays when it is not finite: all -inf, +inf, or NaN).
    k.fill(-inf, n);
    sweep(k, dt, k.out(),
          [&](llvm::Value *t, llvm::Value *x, llvm::Value *) { return k.maximum(t, x); });
    llvm::Value *sums = k.scratch();
    k.loop(0, n, [&](llvm::Value *i) { k.store(dt, k.constant(dt, 0), sums, i); });
    sweep(k, dt, sums, [&](llvm::Value *t, llvm::Value *x, llvm::Value *o) {
      return k.add(t, k.exp(k.sub(x, k.load(dt, k.out(), o))));
    });
    k.loop(0, n, [&](llvm::Value *i) {
      llvm::Value *m = k.load(dt, k.out(), i);
      llvm::Value *finite =
          k.b.CreateFCmpOLT(k.intrinsic(llvm::Intrinsic::fabs, {m}), k.constant(dt, inf));
      llvm::Value *lse = k.add(m, k.log(k.load(dt, sums, i)));
      k.storeOut(k.b.CreateSelect(finite, lse, m), i);
    });
    return;
  }
  default: return;
  }
}

} // namespace nabla::codegen
