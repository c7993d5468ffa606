//===- PoolingKernels.cpp - max and average pooling and their derivatives ---===//
//
// NCHW data; every (example, channel) plane is independent, so the planes
// are the tasks of one parallel loop. Window (oy, ox) covers
// x[oy s + p, ox s + q] for p, q below the window's size. Where windows do
// not overlap along a row, VectorPooling handles a vector of them at once;
// elsewhere one window at a time, small windows unrolled.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"
#include "codegen/Parallel.h"

#include <limits>

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Windows of at most this many positions are unrolled.
constexpr int64_t kUnrolledWindow = 16;

/// Visits the positions of one window: visit(linear index into x).
using Positions = std::function<void(const std::function<void(llvm::Value *)> &)>;

/// Calls body(positions, output index) for every pooling window of plane
/// `plane` of x (`xs`) into `os`.
void forEachWindow(KernelBuilder &k, const Sizes &xs, const Sizes &os, llvm::Value *plane,
                   const std::function<void(const Positions &, llvm::Value *)> &body) {
  auto &b = k.b;
  const ir::Attrs &a = k.op.attrs;
  llvm::Value *xPlane = b.CreateNSWMul(plane, k.i64(xs[2] * xs[3]));
  llvm::Value *oPlane = b.CreateNSWMul(plane, k.i64(os[2] * os[3]));
  // Small windows are unrolled, so that the loop over ox is straight-line
  // code with constant offsets (which LLVM vectorizes as interleaved accesses).
  bool unroll = a.window[0] * a.window[1] <= kUnrolledWindow;
  k.loop(0, os[2], [&](llvm::Value *oy) {
    k.loop(0, os[3], [&](llvm::Value *ox) {
      llvm::Value *corner = b.CreateNSWAdd(
          xPlane,
          k.linear({b.CreateNSWMul(oy, k.i64(a.stride[0])), b.CreateNSWMul(ox, k.i64(a.stride[1]))},
                   {xs[3], 1}));
      Positions positions = [&, corner](const std::function<void(llvm::Value *)> &visit) {
        if (unroll) {
          for (int64_t p = 0; p < a.window[0]; ++p)
            for (int64_t q = 0; q < a.window[1]; ++q)
              visit(b.CreateNSWAdd(corner, k.i64(p * xs[3] + q)));
          return;
        }
        k.loop(0, a.window[0], [&](llvm::Value *p) {
          k.loop(0, a.window[1], [&](llvm::Value *q) {
            visit(b.CreateNSWAdd(corner, k.linear({p, q}, {xs[3], 1})));
          });
        });
      };
      body(positions, b.CreateNSWAdd(oPlane, k.linear({oy, ox}, {os[3], 1})));
    });
  });
}

/// Zeroes plane `plane` of the result.
void zeroPlane(KernelBuilder &k, llvm::Value *plane) {
  int64_t size = k.outShape[2] * k.outShape[3];
  llvm::Value *base = k.b.CreateNSWMul(plane, k.i64(size));
  k.loop(0, size, [&](llvm::Value *i) {
    k.storeOut(k.constant(k.outType(), 0), k.b.CreateNSWAdd(base, i));
  });
}

/// The shapes of a pooling op, whichever of them is compiled, and how its
/// windows lie.
struct PoolGeometry {
  Sizes x, pooled;
  bool backward; ///< max_pool2d_backward, avg_pool2d_backward: the result is x's gradient
  bool disjoint; ///< no two windows share a position
  bool covered;  ///< and every position of x lies in a window
};

PoolGeometry poolGeometry(const KernelBuilder &k) {
  const ir::Attrs &a = k.op.attrs;
  PoolGeometry p;
  OpKind kind = k.op.kind;
  p.backward = kind == OpKind::MaxPool2dBackward || kind == OpKind::AvgPool2dBackward;
  p.x = p.backward ? k.outShape : k.inShapes[0];
  p.pooled = kind == OpKind::MaxPool2dBackward   ? k.inShapes[1]
             : kind == OpKind::AvgPool2dBackward ? k.inShapes[0]
                                                 : k.outShape;
  p.disjoint = a.stride[0] >= a.window[0] && a.stride[1] >= a.window[1];
  p.covered = a.stride[0] == a.window[0] && a.stride[1] == a.window[1] &&
              p.pooled[2] * a.stride[0] == p.x[2] && p.pooled[3] * a.stride[1] == p.x[3];
  return p;
}

/// Pooling a vector of windows at a time: the W consecutive windows of an
/// output row that start at ox0 (W lanes of the widest vector). With the
/// stride s along x's rows at least the window's width, those windows lie
/// in the s vectors of x's row that start at column ox0 s (a span): their
/// position q is lane l s + q of the span, which shuffles extract. The
/// backward ops write the span back the same way (windows that do not
/// overlap, so nothing adds up). The lanes past the row's end are masked.
class VectorPooling {
public:
  /// Whether the op of `k` takes this path: windows apart along rows (and,
  /// for a gradient, apart altogether), strides of at most 4, small windows.
  static bool applies(const KernelBuilder &k, const PoolGeometry &p) {
    const ir::Attrs &a = k.op.attrs;
    bool forward = k.op.kind == OpKind::MaxPool2d || k.op.kind == OpKind::AvgPool2d;
    return (forward || (p.backward && p.disjoint)) && a.stride[1] >= a.window[1] &&
           a.stride[1] <= 4 && a.window[0] * a.window[1] <= kUnrolledWindow;
  }

  VectorPooling(KernelBuilder &k, const PoolGeometry &p)
      : k_(k), b_(k.b), a_(k.op.attrs), p_(p), xs_(p.x), ps_(p.pooled), dt_(k.outType()),
        lanes_(k.lanesOf(dt_)), vector_(k.vectorOf(dt_)) {}

  void plane(llvm::Value *plane) {
    int64_t s = a_.stride[1], h = xs_[2], w = xs_[3], oh = ps_[2], ow = ps_[3];
    if (p_.backward && !p_.covered)
      zeroPlane(k_, plane);
    llvm::Value *xPlane = b_.CreateNSWMul(plane, k_.i64(h * w));
    llvm::Value *pPlane = b_.CreateNSWMul(plane, k_.i64(oh * ow));
    int64_t chunks = (ow + lanes_ - 1) / lanes_;
    k_.loop(0, oh, [&](llvm::Value *oy) {
      k_.loop(0, chunks, [&](llvm::Value *chunk) {
        llvm::Value *ox0 = b_.CreateNSWMul(chunk, k_.i64(lanes_));
        llvm::Value *left = b_.CreateNSWSub(k_.i64(ow), ox0); // windows left in the row
        // Span elements that belong to windows of the row and lie inside x.
        llvm::Value *spanEnd = b_.CreateNSWMul(left, k_.i64(s));
        llvm::Value *xLeft = b_.CreateNSWSub(k_.i64(w), b_.CreateNSWMul(ox0, k_.i64(s)));
        spanEnd = b_.CreateSelect(b_.CreateICmpSLT(spanEnd, xLeft), spanEnd, xLeft);
        llvm::Value *pooled =
            b_.CreateNSWAdd(pPlane, b_.CreateNSWAdd(b_.CreateNSWMul(oy, k_.i64(ow)), ox0));
        llvm::Value *outMask = below(k_.i64(0), left);
        auto rowStart = [&](int64_t p) { // x's element of window row p at ox0
          llvm::Value *y = b_.CreateNSWAdd(b_.CreateNSWMul(oy, k_.i64(a_.stride[0])), k_.i64(p));
          return b_.CreateNSWAdd(xPlane, b_.CreateNSWAdd(b_.CreateNSWMul(y, k_.i64(w)),
                                                         b_.CreateNSWMul(ox0, k_.i64(s))));
        };
        windows(rowStart, spanEnd, pooled, outMask);
      });
    });
  }

private:
  /// The lanes l with first + l < end.
  llvm::Value *below(llvm::Value *first, llvm::Value *end) {
    return k_.lanesBelow(lanes_, first, end);
  }

  llvm::Value *at(llvm::Value *base, llvm::Value *index) {
    return k_.maskedAddress(dt_, base, index);
  }

  /// The vectors `parts` end to end (as one vector of their total width).
  llvm::Value *concat(std::vector<llvm::Value *> parts) {
    while (parts.size() & (parts.size() - 1))
      parts.push_back(llvm::PoisonValue::get(parts[0]->getType()));
    while (parts.size() > 1) {
      std::vector<llvm::Value *> joined;
      unsigned width =
          unsigned(llvm::cast<llvm::FixedVectorType>(parts[0]->getType())->getNumElements());
      std::vector<int> identity;
      for (unsigned i = 0; i < 2 * width; ++i)
        identity.push_back(int(i));
      for (size_t i = 0; i < parts.size(); i += 2)
        joined.push_back(b_.CreateShuffleVector(parts[i], parts[i + 1], identity));
      parts = std::move(joined);
    }
    return parts[0];
  }

  /// Position q of each lane's window in x's row starting at `start`.
  std::vector<llvm::Value *> loadRow(llvm::Value *start, llvm::Value *spanEnd) {
    int64_t s = a_.stride[1];
    std::vector<llvm::Value *> span;
    for (int64_t v = 0; v < s; ++v)
      span.push_back(b_.CreateMaskedLoad(
          vector_, at(k_.in(0), b_.CreateAdd(start, k_.i64(v * lanes_))), align(),
          below(k_.i64(v * lanes_), spanEnd), llvm::Constant::getNullValue(vector_)));
    llvm::Value *whole = concat(span);
    std::vector<llvm::Value *> positions;
    for (int64_t q = 0; q < a_.window[1]; ++q) {
      std::vector<int> pick;
      for (unsigned l = 0; l < lanes_; ++l)
        pick.push_back(int(l * s + q));
      positions.push_back(b_.CreateShuffleVector(whole, pick));
    }
    return positions;
  }

  /// Writes position q = 0.. of each lane's window (`values`, zeros between
  /// windows) into the result's row starting at `start`.
  void storeRow(const std::vector<llvm::Value *> &values, llvm::Value *start,
                llvm::Value *spanEnd) {
    int64_t s = a_.stride[1], ww = a_.window[1];
    std::vector<llvm::Value *> parts = values;
    parts.push_back(llvm::Constant::getNullValue(vector_));
    llvm::Value *all = concat(parts);
    std::vector<int> place;
    for (int64_t e = 0; e < s * int64_t(lanes_); ++e) {
      int64_t l = e / s, q = e % s;
      place.push_back(int((q < ww ? q : ww) * lanes_ + l));
    }
    llvm::Value *span = b_.CreateShuffleVector(all, place);
    for (int64_t v = 0; v < s; ++v) {
      std::vector<int> piece;
      for (unsigned l = 0; l < lanes_; ++l)
        piece.push_back(int(v * lanes_ + l));
      b_.CreateMaskedStore(b_.CreateShuffleVector(span, piece),
                           at(k_.out(), b_.CreateAdd(start, k_.i64(v * lanes_))), align(),
                           below(k_.i64(v * lanes_), spanEnd));
    }
  }

  /// The op on one vector of windows.
  void windows(const std::function<llvm::Value *(int64_t)> &rowStart, llvm::Value *spanEnd,
               llvm::Value *pooled, llvm::Value *outMask) {
    int64_t wh = a_.window[0];
    double area = double(a_.window[0] * a_.window[1]);
    llvm::Value *zero = llvm::Constant::getNullValue(vector_);
    llvm::Value *areaVector = b_.CreateVectorSplat(lanes_, k_.constant(dt_, area));
    OpKind kind = k_.op.kind;
    if (kind == OpKind::AvgPool2dBackward) { // each window's g / area over it
      llvm::Value *share = k_.div(
          b_.CreateMaskedLoad(vector_, at(k_.in(0), pooled), align(), outMask, zero), areaVector);
      for (int64_t p = 0; p < wh; ++p)
        storeRow(std::vector<llvm::Value *>(size_t(a_.window[1]), share), rowStart(p), spanEnd);
      return;
    }
    std::vector<std::vector<llvm::Value *>> x;
    for (int64_t p = 0; p < wh; ++p)
      x.push_back(loadRow(rowStart(p), spanEnd));
    bool isMax = kind != OpKind::AvgPool2d;
    llvm::Value *acc = nullptr;
    for (const auto &row : x)
      for (llvm::Value *v : row)
        acc = !acc ? v : isMax ? k_.maximum(acc, v) : k_.add(acc, v);
    if (kind == OpKind::MaxPool2d || kind == OpKind::AvgPool2d) {
      llvm::Value *result = isMax ? acc : k_.div(acc, areaVector);
      b_.CreateMaskedStore(result, at(k_.out(), pooled), align(), outMask);
      return;
    }
    // max_pool2d_backward: g split evenly among each window's maxima (all
    // of its positions when the window holds a NaN).
    llvm::Value *anyNaN = b_.CreateFCmpUNO(acc, acc);
    auto hit = [&](llvm::Value *v) { return b_.CreateOr(anyNaN, b_.CreateFCmpOEQ(v, acc)); };
    llvm::Value *one = b_.CreateVectorSplat(lanes_, k_.constant(dt_, 1));
    llvm::Value *count = zero;
    for (const auto &row : x)
      for (llvm::Value *v : row)
        count = k_.add(count, b_.CreateSelect(hit(v), one, zero));
    llvm::Value *g = b_.CreateMaskedLoad(vector_, at(k_.in(1), pooled), align(), outMask, zero);
    llvm::Value *share = k_.div(g, count);
    for (int64_t p = 0; p < wh; ++p) {
      std::vector<llvm::Value *> values;
      for (llvm::Value *v : x[size_t(p)])
        values.push_back(b_.CreateSelect(hit(v), share, zero));
      storeRow(values, rowStart(p), spanEnd);
    }
  }

  llvm::Align align() const { return llvm::Align(dtypeSize(dt_)); }

  KernelBuilder &k_;
  llvm::IRBuilder<> &b_;
  const ir::Attrs &a_;
  const PoolGeometry &p_;
  const Sizes &xs_, &ps_;
  DType dt_;
  unsigned lanes_;
  llvm::Type *vector_;
};

/// The kernel's work on one plane.
void emitPlane(KernelBuilder &k, llvm::Value *plane) {
  PoolGeometry p = poolGeometry(k);
  if (VectorPooling::applies(k, p)) {
    VectorPooling(k, p).plane(plane);
    return;
  }
  DType dt = k.outType();
  auto &b = k.b;
  const ir::Attrs &a = k.op.attrs;
  const double inf = std::numeric_limits<double>::infinity();
  double area = double(a.window[0] * a.window[1]);
  switch (ir::asPooling(k.op.kind)) {
  case ir::PoolingOp::MaxPool2d:
  case ir::PoolingOp::AvgPool2d: {
    bool isMax = k.op.kind == OpKind::MaxPool2d;
    forEachWindow(k, k.inShapes[0], k.outShape, plane,
                  [&](const Positions &positions, llvm::Value *o) {
                    llvm::AllocaInst *acc = k.local(k.typeOf(dt), k.constant(dt, isMax ? -inf : 0));
                    positions([&](llvm::Value *x) {
                      llvm::Value *v = k.loadIn(0, x), *cur = b.CreateLoad(k.typeOf(dt), acc);
                      b.CreateStore(isMax ? k.maximum(cur, v) : k.add(cur, v), acc);
                    });
                    llvm::Value *r = b.CreateLoad(k.typeOf(dt), acc);
                    k.storeOut(isMax ? r : k.div(r, k.constant(dt, area)), o);
                  });
    return;
  }
  case ir::PoolingOp::MaxPool2dBackward:  // (x, g) -> dx: g split evenly among each window's maxima
  case ir::PoolingOp::MaxPool2dTangent: { // (x, u) -> mean of u over each window's maxima
    bool backward = p.backward;
    // Windows that do not overlap write their positions once, without
    // adding: only the positions no window covers need zeros first.
    if (backward && !p.covered)
      zeroPlane(k, plane);
    forEachWindow(k, p.x, p.pooled, plane, [&](const Positions &positions, llvm::Value *o) {
      llvm::AllocaInst *top = k.local(k.typeOf(dt), k.constant(dt, -inf));
      positions([&](llvm::Value *x) {
        b.CreateStore(k.maximum(b.CreateLoad(k.typeOf(dt), top), k.loadIn(0, x)), top);
      });
      llvm::Value *m = b.CreateLoad(k.typeOf(dt), top);
      // With a NaN in the window every position counts, so the NaN spreads.
      llvm::Value *anyNaN = b.CreateFCmpUNO(m, m);
      auto hit = [&](llvm::Value *x) {
        return b.CreateOr(anyNaN, b.CreateFCmpOEQ(k.loadIn(0, x), m));
      };
      llvm::AllocaInst *count = k.local(k.typeOf(dt), k.constant(dt, 0));
      positions([&](llvm::Value *x) {
        b.CreateStore(k.add(b.CreateLoad(k.typeOf(dt), count), k.toMask(hit(x), dt)), count);
      });
      llvm::Value *n = b.CreateLoad(k.typeOf(dt), count);
      if (backward && p.disjoint) {
        llvm::Value *share = k.div(k.loadIn(1, o), n);
        positions([&](llvm::Value *x) {
          k.storeOut(b.CreateSelect(hit(x), share, k.constant(dt, 0)), x);
        });
      } else if (backward) {
        llvm::Value *share = k.div(k.loadIn(1, o), n);
        positions([&](llvm::Value *x) {
          k.ifThen(hit(x), [&] { k.storeOut(k.add(k.load(dt, k.out(), x), share), x); });
        });
      } else {
        llvm::AllocaInst *sum = k.local(k.typeOf(dt), k.constant(dt, 0));
        positions([&](llvm::Value *x) {
          llvm::Value *add = b.CreateSelect(hit(x), k.loadIn(1, x), k.constant(dt, 0));
          b.CreateStore(k.add(b.CreateLoad(k.typeOf(dt), sum), add), sum);
        });
        k.storeOut(k.div(b.CreateLoad(k.typeOf(dt), sum), n), o);
      }
    });
    return;
  }
  case ir::PoolingOp::AvgPool2dBackward: { // g -> dx: each window's g spread over it
    zeroPlane(k, plane);
    forEachWindow(
        k, k.outShape, k.inShapes[0], plane, [&](const Positions &positions, llvm::Value *o) {
          llvm::Value *share = k.div(k.loadIn(0, o), k.constant(dt, area));
          positions([&](llvm::Value *x) { k.storeOut(k.add(k.load(dt, k.out(), x), share), x); });
        });
    return;
  }
  }
}

} // namespace

void emitPooling(KernelBuilder &k) {
  int64_t planes = k.outShape[0] * k.outShape[1];
  std::vector<llvm::Value *> pointers = {k.out()};
  for (size_t i = 0; i < k.op.operands.size(); ++i)
    pointers.push_back(k.in(i));
  emitParallelFor(k, "planes", pointers, planes,
                  [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *plane) {
                    t.setPointers(at[0], std::vector<llvm::Value *>(at.begin() + 1, at.end()),
                                  nullptr, nullptr);
                    emitPlane(t, plane);
                  });
}

} // namespace nabla::codegen
