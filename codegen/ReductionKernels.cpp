//===- ReductionKernels.cpp - reduce_sum/max/min and logsumexp ------------===//
//
// The result starts at the reduction's identity; one sweep over the operand
// in row-major order combines each element into its result element. When the
// last axis is reduced the innermost loop keeps a running value in a
// register, so it vectorizes as a horizontal reduction.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"
#include "codegen/Parallel.h"

#include <algorithm>
#include <limits>

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Reductions of fewer elements than this run on one thread (splitting
/// smaller ones gains less than the extra code costs to compile).
constexpr int64_t kParallelReduction = int64_t(1) << 18;
/// Chunks a large reduction's axis 0 is split into.
constexpr int64_t kReductionChunks = 16;

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

/// The operand's shape with runs of adjacent axes that are all reduced, or
/// all kept, merged into one axis (the result's layout is the same), so that
/// the innermost loop runs as long as it can.
struct Collapsed {
  Sizes in;
  std::vector<int64_t> axes;
};

Collapsed collapse(const Sizes &in, const std::vector<int64_t> &axes) {
  Collapsed c;
  auto reduced = [&](size_t d) {
    return std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
  };
  for (size_t d = 0; d < in.size(); ++d) {
    if (d > 0 && reduced(d) == reduced(d - 1)) {
      c.in.back() *= in[d];
      continue;
    }
    c.in.push_back(in[d]);
    if (reduced(d))
      c.axes.push_back(int64_t(c.in.size() - 1));
  }
  return c;
}

/// t[o] = combine(k, t[o], x, o): one element x of the operand into its
/// result slot o of `target`.
using Combine =
    std::function<llvm::Value *(KernelBuilder &, llvm::Value *, llvm::Value *, llvm::Value *)>;

/// Combines every operand element whose index along axis 0 lies in
/// [begin0, end0) into its result slot of `target`.
void sweep(KernelBuilder &k, DType dt, llvm::Value *target, llvm::Value *begin0, llvm::Value *end0,
           const Combine &combine) {
  Collapsed view = collapse(k.inShapes[0], k.op.attrs.axes);
  const Sizes &in = view.in;
  const std::vector<int64_t> &axes = view.axes;
  Sizes inStrides = stridesOf(in), outStrides = resultStrides(in, axes);
  size_t last = in.size() - 1;
  bool lastReduced = std::find(axes.begin(), axes.end(), int64_t(last)) != axes.end();
  // The innermost loop runs along the last axis (axis 0 itself for rank 1).
  auto row = [&](const std::vector<llvm::Value *> &idx) {
    llvm::Value *inBase = k.linear(idx, Sizes(inStrides.begin(), inStrides.end() - 1));
    llvm::Value *outBase = k.linear(idx, Sizes(outStrides.begin(), outStrides.end() - 1));
    llvm::Value *first = last == 0 ? begin0 : k.i64(0), *end = last == 0 ? end0 : k.i64(in[last]);
    llvm::Value *step = k.i64(inStrides[last]);
    if (lastReduced) {
      llvm::Value *start = k.load(dt, target, outBase);
      llvm::Value *acc = k.reduceBetween(first, end, start, [&](llvm::Value *j, llvm::Value *a) {
        return combine(k, a, k.loadIn(0, k.b.CreateNSWAdd(inBase, k.b.CreateNSWMul(j, step))),
                       outBase);
      });
      k.store(dt, acc, target, outBase);
    } else {
      k.loopBetween(first, end, [&](llvm::Value *j) {
        llvm::Value *o = k.b.CreateNSWAdd(outBase, j);
        llvm::Value *x = k.loadIn(0, k.b.CreateNSWAdd(inBase, k.b.CreateNSWMul(j, step)));
        k.store(dt, combine(k, k.load(dt, target, o), x, o), target, o);
      });
    }
  };
  if (last == 0) {
    row({});
    return;
  }
  k.loopBetween(begin0, end0, [&](llvm::Value *i0) {
    k.forEachIndex(Sizes(in.begin() + 1, in.end() - 1),
                   [&](const std::vector<llvm::Value *> &rest) {
                     std::vector<llvm::Value *> idx = {i0};
                     idx.insert(idx.end(), rest.begin(), rest.end());
                     row(idx);
                   });
  });
}

/// The same over the whole operand.
void sweepAll(KernelBuilder &k, DType dt, llvm::Value *target, const Combine &combine) {
  sweep(k, dt, target, k.i64(0), k.i64(collapse(k.inShapes[0], k.op.attrs.axes).in[0]), combine);
}

/// How a large reduction splits over the thread pool: its operand's axis 0
/// in a fixed number of chunks (so the result does not depend on the
/// thread count). When axis 0 is reduced each chunk combines into its own
/// partial result in the scratch space, and the partials are combined in
/// chunk order; otherwise each chunk owns its part of the result.
struct ReductionSplit {
  int64_t rows = 1; ///< the length of the operand's (collapsed) axis 0
  int64_t chunks = 1;
  bool partials = false;
  int64_t partialBytes = 0; ///< per chunk
};

ReductionSplit splitOf(const ir::Op &op, const Sizes &out, const Sizes &shape) {
  ReductionSplit split;
  bool combinable =
      op.kind == OpKind::ReduceSum || op.kind == OpKind::ReduceMax || op.kind == OpKind::ReduceMin;
  if (!combinable || shape.empty() || product(shape) < kParallelReduction)
    return split;
  Collapsed view = collapse(shape, op.attrs.axes);
  const Sizes &in = view.in;
  if (in[0] < 2)
    return split;
  split.rows = in[0];
  split.chunks = std::min<int64_t>(in[0], kReductionChunks);
  const std::vector<int64_t> &axes = view.axes;
  split.partials = std::find(axes.begin(), axes.end(), 0) != axes.end();
  if (split.partials)
    split.partialBytes = (product(out) * int64_t(dtypeSize(op.result.type.dtype)) + 63) / 64 * 64;
  return split;
}

} // namespace

size_t reductionScratchBytes(const ir::Op &op, const Sizes &out, const Sizes &in) {
  if (op.kind == OpKind::LogSumExp) // the running sums beside the maxima
    return size_t(product(out) * int64_t(dtypeSize(op.result.type.dtype)));
  ReductionSplit split = splitOf(op, out, in);
  return size_t(split.partials ? split.chunks * split.partialBytes : 0);
}

void emitReduction(KernelBuilder &k) {
  DType dt = k.outType();
  int64_t n = product(k.outShape);
  if (k.inShapes[0].empty()) { // a scalar reduced over no axes
    k.storeOut(k.loadIn(0, k.i64(0)), k.i64(0));
    return;
  }
  const double inf = std::numeric_limits<double>::infinity();
  if (k.op.kind == OpKind::LogSumExp) {
    // max m, then s = sum of e^(x - m) in the scratch space, then m + log s
    // (m stays when it is not finite: all -inf, +inf, or NaN).
    k.fill(-inf, n);
    sweepAll(k, dt, k.out(), [](KernelBuilder &b, llvm::Value *t, llvm::Value *x, llvm::Value *) {
      return b.maximum(t, x);
    });
    llvm::Value *sums = k.scratch();
    k.loop(0, n, [&](llvm::Value *i) { k.store(dt, k.constant(dt, 0), sums, i); });
    sweepAll(k, dt, sums, [&](KernelBuilder &b, llvm::Value *t, llvm::Value *x, llvm::Value *o) {
      return b.add(t, b.exp(b.sub(x, b.load(dt, b.out(), o))));
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
  double identity = k.op.kind == OpKind::ReduceSum   ? 0
                    : k.op.kind == OpKind::ReduceMax ? -inf
                                                     : inf;
  OpKind kind = k.op.kind;
  Combine combine = [kind](KernelBuilder &b, llvm::Value *t, llvm::Value *x, llvm::Value *) {
    return kind == OpKind::ReduceSum   ? b.add(t, x)
           : kind == OpKind::ReduceMax ? b.maximum(t, x)
                                       : b.minimum(t, x);
  };
  ReductionSplit split = splitOf(k.op, k.outShape, k.inShapes[0]);
  if (split.chunks == 1) {
    k.fill(identity, n);
    sweepAll(k, dt, k.out(), combine);
    return;
  }
  int64_t perRow = n / split.rows; // result elements per index of axis 0
  llvm::Value *null = llvm::ConstantPointerNull::get(llvm::PointerType::get(k.b.getContext(), 0));
  std::vector<llvm::Value *> pointers = {k.out(), k.in(0), k.scratch() ? k.scratch() : null};
  emitParallelFor(k, "chunks", pointers, split.chunks,
                  [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *chunk) {
                    auto &b = t.b;
                    t.setPointers(at[0], {at[1]}, at[2], nullptr);
                    auto [begin0, end0] = taskShare(t, chunk, split.rows, split.chunks);
                    llvm::Value *target = at[0], *first = t.i64(0), *end = t.i64(n);
                    if (split.partials) {
                      target = b.CreateInBoundsGEP(
                          b.getInt8Ty(), at[2], b.CreateNSWMul(chunk, t.i64(split.partialBytes)));
                    } else {
                      first = b.CreateNSWMul(begin0, t.i64(perRow));
                      end = b.CreateNSWMul(end0, t.i64(perRow));
                    }
                    t.loopBetween(first, end, [&](llvm::Value *i) {
                      t.store(dt, t.constant(dt, identity), target, i);
                    });
                    sweep(t, dt, target, begin0, end0, combine);
                  });
  if (!split.partials)
    return;
  // The partials, combined in chunk order.
  k.loop(0, n, [&](llvm::Value *i) {
    llvm::Value *acc =
        k.reduce(0, split.chunks, k.constant(dt, identity), [&](llvm::Value *c, llvm::Value *a) {
          llvm::Value *partial = k.b.CreateInBoundsGEP(
              k.b.getInt8Ty(), k.scratch(), k.b.CreateNSWMul(c, k.i64(split.partialBytes)));
          return combine(k, a, k.load(dt, partial, i), i);
        });
    k.storeOut(acc, i);
  });
}

} // namespace nabla::codegen
