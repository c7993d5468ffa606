//===- ConvolutionKernels.cpp - conv2d and its derivatives as matrix products -===//
//
// NCHW data, OIHW weights. With the taps of one output pixel laid out as a
// column (im2col), a convolution of one example is one matrix product:
//
//   col[r, p]  = x[c, oy s + i - pad, ox s + j - pad]   (0 in the padding)
//                for r = (c, i, j), the C KH KW taps, and p = (oy, ox)
//   out[n]     = W col                     W: O x CKK, col: CKK x P
//   dcol       = Wᵀ g[n],  dx[n] = col2im(dcol)    (each tap added back)
//   dW         = Σn g[n] col[n]ᵀ = (Σn col[n] g[n]ᵀ)ᵀ
//
// The examples are split into a fixed number of slots (not threads, so the
// results do not depend on the thread count); each slot is a task of the
// thread pool with its own scratch space for col, which stays in the cache
// while the tiled micro-kernels of GemmKernels.cpp consume it. dW sums one
// partial product per slot, in slot order. A 1x1 convolution with stride 1
// and no padding needs no col: it is x itself.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"
#include "codegen/Parallel.h"

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Slots the examples are dealt to: enough for the threads of a large
/// machine, few enough that their scratch space stays small.
constexpr int64_t kConvSlots = 32;
/// Scratch space beyond which large convolutions use fewer slots (but never
/// fewer than two, so that two threads have work).
constexpr int64_t kConvScratchBudget = int64_t(64) << 20;

using ir::ConvolutionOp;

/// The sizes of a convolution, whichever of its three ops is compiled.
struct ConvGeometry {
  int64_t n, c, h, w;     ///< x
  int64_t o, kh, kw;      ///< W
  int64_t oh, ow;         ///< the output's pixels
  int64_t sh, sw, ph, pw; ///< strides and padding
  DType dt;
  ConvolutionOp pass; ///< which of the three ops

  int64_t taps() const { return c * kh * kw; }
  int64_t pixels() const { return oh * ow; }
  int64_t slots() const {
    int64_t affordable =
        std::max<int64_t>(2, kConvScratchBudget / std::max<int64_t>(1, slotBytes()));
    return std::min({n, kConvSlots, affordable});
  }
  /// Whether col is x itself.
  bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
  int64_t bytes(int64_t elements) const {
    return (elements * int64_t(dtypeSize(dt)) + 63) / 64 * 64;
  }
  int64_t colBytes() const { return direct() ? 0 : bytes(taps() * pixels()); }
  /// Bytes of one slot's scratch space for `pass`.
  int64_t slotBytes() const {
    switch (pass) {
    case ConvolutionOp::Conv2d: return colBytes();
    case ConvolutionOp::Conv2dBackwardInput: return colBytes();
    case ConvolutionOp::Conv2dBackwardWeight: // col, g[n]ᵀ, the slot's partial dWᵀ
      return colBytes() + bytes(pixels() * o) + bytes(taps() * o);
    }
    return 0;
  }
};

ConvGeometry geometryOf(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in) {
  const Sizes *x = &in[0], *w = &in[1], *y = &out;
  ConvGeometry g;
  g.pass = ir::asConvolution(op.kind);
  if (g.pass == ConvolutionOp::Conv2dBackwardInput) // (g, w) -> dx
    x = &out, y = &in[0];
  else if (g.pass == ConvolutionOp::Conv2dBackwardWeight) // (x, g) -> dW
    w = &out, y = &in[1];
  g.n = (*x)[0], g.c = (*x)[1], g.h = (*x)[2], g.w = (*x)[3];
  g.o = (*w)[0], g.kh = (*w)[2], g.kw = (*w)[3];
  g.oh = (*y)[2], g.ow = (*y)[3];
  g.sh = op.attrs.stride[0], g.sw = op.attrs.stride[1];
  g.ph = op.attrs.padding[0], g.pw = op.attrs.padding[1];
  g.dt = op.result.type.dtype;
  return g;
}

/// One row of col: tap r = (c, i, j) at output row oy. It reads row y of
/// channel c of x, element xRow + ox for output column ox, when `inside`
/// (0 <= y < H) and first <= ox < end; the rest of the row is padding.
struct TapRow {
  llvm::Value *inside, *xRow, *colRow, *first, *end;
};

/// Emits the loops over every row of col for one example, calling row() on each.
void forEachTapRow(KernelBuilder &k, const ConvGeometry &g,
                   const std::function<void(const TapRow &)> &row) {
  auto &b = k.b;
  auto smin = [&](llvm::Value *a, llvm::Value *c) {
    return b.CreateSelect(b.CreateICmpSLT(a, c), a, c);
  };
  k.loop(0, g.c, [&](llvm::Value *c) {
    k.loop(0, g.kh, [&](llvm::Value *i) {
      k.loop(0, g.kw, [&](llvm::Value *j) {
        llvm::Value *r = b.CreateNSWAdd(
            b.CreateNSWMul(b.CreateNSWAdd(b.CreateNSWMul(c, k.i64(g.kh)), i), k.i64(g.kw)), j);
        // ox reads inside x iff 0 <= ox sw + j - pw < W.
        llvm::Value *before = b.CreateNSWSub(k.i64(g.pw), j);
        llvm::Value *first = b.CreateSelect(
            b.CreateICmpSGT(before, k.i64(0)),
            b.CreateSDiv(b.CreateNSWAdd(before, k.i64(g.sw - 1)), k.i64(g.sw)), k.i64(0));
        first = smin(first, k.i64(g.ow));
        llvm::Value *last = b.CreateNSWAdd(before, k.i64(g.w - 1));
        llvm::Value *end = b.CreateSelect(
            b.CreateICmpSGE(last, k.i64(0)),
            smin(b.CreateNSWAdd(b.CreateSDiv(last, k.i64(g.sw)), k.i64(1)), k.i64(g.ow)), k.i64(0));
        end = b.CreateSelect(b.CreateICmpSLT(end, first), first, end);
        k.loop(0, g.oh, [&](llvm::Value *oy) {
          llvm::Value *y =
              b.CreateNSWSub(b.CreateNSWAdd(b.CreateNSWMul(oy, k.i64(g.sh)), i), k.i64(g.ph));
          TapRow t;
          t.inside = b.CreateAnd(b.CreateICmpSGE(y, k.i64(0)), b.CreateICmpSLT(y, k.i64(g.h)));
          // Element ox of the row is x[xRow + ox sw] (xRow may lie outside x).
          t.xRow = b.CreateNSWAdd(
              b.CreateNSWMul(b.CreateNSWAdd(b.CreateNSWMul(c, k.i64(g.h)), y), k.i64(g.w)),
              b.CreateNSWSub(j, k.i64(g.pw)));
          t.colRow =
              b.CreateNSWAdd(b.CreateNSWMul(r, k.i64(g.pixels())), b.CreateNSWMul(oy, k.i64(g.ow)));
          t.first = first;
          t.end = end;
          row(t);
        });
      });
    });
  });
}

/// With stride 1 along x's rows a row of col is a run of x's row: it is
/// moved a vector at a time, the lanes outside x (padding, or past the row's
/// end) masked off. chunk(address offset of lane 0, in-x mask, in-row mask)
/// for each vector of the row.
void forEachVectorOfRow(
    KernelBuilder &k, const ConvGeometry &g, const TapRow &t,
    const std::function<void(llvm::Value *, llvm::Value *, llvm::Value *)> &chunk) {
  auto &b = k.b;
  unsigned lanes = k.lanesOf(g.dt);
  auto splat = [&](llvm::Value *v) { return b.CreateVectorSplat(lanes, v); };
  int64_t chunks = (g.ow + lanes - 1) / lanes;
  k.loop(0, chunks, [&](llvm::Value *q) {
    llvm::Value *q0 = b.CreateNSWMul(q, k.i64(lanes));
    llvm::Value *ox = k.laneIndices(lanes, q0);
    llvm::Value *inRow = b.CreateICmpSLT(ox, splat(k.i64(g.ow)));
    llvm::Value *inX = b.CreateAnd(
        b.CreateAnd(b.CreateICmpSGE(ox, splat(t.first)), b.CreateICmpSLT(ox, splat(t.end))),
        splat(t.inside));
    chunk(q0, b.CreateAnd(inX, inRow), inRow);
  });
}

/// col = im2col(x) for one example.
void im2col(KernelBuilder &k, const ConvGeometry &g, llvm::Value *x, llvm::Value *col) {
  auto &b = k.b;
  llvm::Type *vector = k.vectorOf(g.dt);
  llvm::Align align(dtypeSize(g.dt));
  forEachTapRow(k, g, [&](const TapRow &t) {
    if (g.sw == 1) {
      forEachVectorOfRow(k, g, t, [&](llvm::Value *q0, llvm::Value *inX, llvm::Value *inRow) {
        llvm::Value *from = k.maskedAddress(g.dt, x, b.CreateAdd(t.xRow, q0));
        llvm::Value *v =
            b.CreateMaskedLoad(vector, from, align, inX, llvm::Constant::getNullValue(vector));
        b.CreateMaskedStore(v, k.maskedAddress(g.dt, col, b.CreateAdd(t.colRow, q0)), align, inRow);
      });
      return;
    }
    auto copy = [&](llvm::Value *first, llvm::Value *end, bool zero) {
      k.loopBetween(first, end, [&](llvm::Value *ox) {
        llvm::Value *v =
            zero ? k.constant(g.dt, 0)
                 : k.load(g.dt, x, b.CreateNSWAdd(t.xRow, b.CreateNSWMul(ox, k.i64(g.sw))));
        k.store(g.dt, v, col, b.CreateNSWAdd(t.colRow, ox));
      });
    };
    llvm::Value *first = b.CreateSelect(t.inside, t.first, k.i64(g.ow));
    llvm::Value *end = b.CreateSelect(t.inside, t.end, k.i64(g.ow));
    copy(k.i64(0), first, true);
    copy(first, end, false);
    copy(end, k.i64(g.ow), true);
  });
}

/// col2im with stride 1 along rows, gathered: each vector of a row of dx
/// sums the taps that read it, in registers, and is stored once (adding tap
/// after tap in memory would wait on each masked store before the next
/// masked load).
void gatherTaps(KernelBuilder &k, const ConvGeometry &g, llvm::Value *dcol, llvm::Value *dx) {
  auto &b = k.b;
  unsigned lanes = k.lanesOf(g.dt);
  llvm::Type *vector = k.vectorOf(g.dt);
  llvm::Value *zero = llvm::Constant::getNullValue(vector);
  llvm::Align align(dtypeSize(g.dt));
  auto splat = [&](llvm::Value *v) { return b.CreateVectorSplat(lanes, v); };
  int64_t chunks = (g.w + lanes - 1) / lanes;
  k.loop(0, g.c, [&](llvm::Value *c) {
    k.loop(0, g.h, [&](llvm::Value *y) {
      k.loop(0, chunks, [&](llvm::Value *chunk) {
        llvm::Value *z0 = b.CreateNSWMul(chunk, k.i64(lanes));
        llvm::Value *z = k.laneIndices(lanes, z0);
        llvm::Value *inRow = b.CreateICmpSLT(z, splat(k.i64(g.w)));
        llvm::Value *sum = k.reduce(0, g.kh, zero, [&](llvm::Value *i, llvm::Value *acc) {
          // Output row oy reads row y through tap row i when oy sh + i - ph = y.
          llvm::Value *above = b.CreateNSWSub(b.CreateNSWAdd(y, k.i64(g.ph)), i);
          llvm::Value *oy = b.CreateSDiv(above, k.i64(g.sh));
          llvm::Value *rowOk =
              b.CreateAnd(b.CreateAnd(b.CreateICmpSGE(above, k.i64(0)),
                                      b.CreateICmpEQ(b.CreateSRem(above, k.i64(g.sh)), k.i64(0))),
                          b.CreateICmpSLT(oy, k.i64(g.oh)));
          return k.reduce(0, g.kw, acc, [&](llvm::Value *j, llvm::Value *partial) {
            llvm::Value *r = b.CreateNSWAdd(
                b.CreateNSWMul(b.CreateNSWAdd(b.CreateNSWMul(c, k.i64(g.kh)), i), k.i64(g.kw)), j);
            // Output column ox = z - j + pw reads column z.
            llvm::Value *shift = b.CreateNSWSub(k.i64(g.pw), j);
            llvm::Value *ox = b.CreateAdd(z, splat(shift));
            llvm::Value *mask = b.CreateAnd(b.CreateAnd(inRow, splat(rowOk)),
                                            b.CreateAnd(b.CreateICmpSGE(ox, splat(k.i64(0))),
                                                        b.CreateICmpSLT(ox, splat(k.i64(g.ow)))));
            llvm::Value *at = b.CreateAdd(
                b.CreateAdd(b.CreateMul(r, k.i64(g.pixels())), b.CreateMul(oy, k.i64(g.ow))),
                b.CreateAdd(z0, shift));
            return k.add(partial, b.CreateMaskedLoad(vector, k.maskedAddress(g.dt, dcol, at), align,
                                                     mask, zero));
          });
        });
        llvm::Value *to =
            b.CreateAdd(b.CreateMul(b.CreateAdd(b.CreateMul(c, k.i64(g.h)), y), k.i64(g.w)), z0);
        b.CreateMaskedStore(sum, k.maskedAddress(g.dt, dx, to), align, inRow);
      });
    });
  });
}

/// dx = col2im(dcol) for one example: every tap's gradient added to the
/// element of x it read.
void col2im(KernelBuilder &k, const ConvGeometry &g, llvm::Value *dcol, llvm::Value *dx) {
  if (g.sw == 1) {
    gatherTaps(k, g, dcol, dx);
    return;
  }
  auto &b = k.b;
  k.loop(0, g.c * g.h * g.w, [&](llvm::Value *i) { k.store(g.dt, k.constant(g.dt, 0), dx, i); });
  forEachTapRow(k, g, [&](const TapRow &t) {
    llvm::Value *end = b.CreateSelect(t.inside, t.end, t.first);
    k.loopBetween(t.first, end, [&](llvm::Value *ox) {
      llvm::Value *to = b.CreateNSWAdd(t.xRow, b.CreateNSWMul(ox, k.i64(g.sw)));
      llvm::Value *tap = k.load(g.dt, dcol, b.CreateNSWAdd(t.colRow, ox));
      k.store(g.dt, k.add(k.load(g.dt, dx, to), tap), dx, to);
    });
  });
}

/// The address of element `index` (a run-time value) of `base`.
llvm::Value *at(KernelBuilder &k, DType dt, llvm::Value *base, llvm::Value *index) {
  return k.b.CreateInBoundsGEP(k.typeOf(dt), base, index);
}

/// The work of slot `slot`: its examples, with its scratch space.
void emitSlot(KernelBuilder &t, const ConvGeometry &g, const std::vector<llvm::Value *> &pointers,
              llvm::Value *slot) {
  auto &b = t.b;
  llvm::Value *in0 = pointers[0], *in1 = pointers[1], *out = pointers[2];
  llvm::Value *space =
      b.CreateInBoundsGEP(b.getInt8Ty(), pointers[3], b.CreateNSWMul(slot, t.i64(g.slotBytes())));
  auto [first, end] = taskShare(t, slot, g.n, g.slots());
  int64_t xSize = g.c * g.h * g.w, ySize = g.o * g.pixels();
  auto example = [&](llvm::Value *base, int64_t size, llvm::Value *n) {
    return at(t, g.dt, base, b.CreateNSWMul(n, t.i64(size)));
  };
  switch (g.pass) {
  case ConvolutionOp::Conv2d: // (x, W) -> y
    t.loopBetween(first, end, [&](llvm::Value *n) {
      llvm::Value *x = example(in0, xSize, n);
      llvm::Value *col = g.direct() ? x : space;
      if (!g.direct())
        im2col(t, g, x, col);
      emitMatrixProduct(t, {g.o, g.pixels(), g.taps(), false, false, g.dt}, in1, col,
                        example(out, ySize, n));
    });
    return;
  case ConvolutionOp::Conv2dBackwardInput: // (g, W) -> dx
    t.loopBetween(first, end, [&](llvm::Value *n) {
      llvm::Value *dx = example(out, xSize, n);
      llvm::Value *dcol = g.direct() ? dx : space;
      emitMatrixProduct(t, {g.taps(), g.pixels(), g.o, true, false, g.dt}, in1,
                        example(in0, ySize, n), dcol);
      if (!g.direct())
        col2im(t, g, dcol, dx);
    });
    return;
  case ConvolutionOp::Conv2dBackwardWeight: { // (x, g) -> this slot's Σ col[n] g[n]ᵀ
    llvm::Value *gT = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), space, uint64_t(g.colBytes()));
    llvm::Value *partial =
        b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), gT, uint64_t(g.bytes(g.pixels() * g.o)));
    t.loop(0, g.taps() * g.o,
           [&](llvm::Value *i) { t.store(g.dt, t.constant(g.dt, 0), partial, i); });
    t.loopBetween(first, end, [&](llvm::Value *n) {
      llvm::Value *x = example(in0, xSize, n);
      llvm::Value *col = g.direct() ? x : space;
      if (!g.direct())
        im2col(t, g, x, col);
      emitTranspose(t, g.dt, example(in1, ySize, n), g.pixels(), g.o, t.i64(g.o), g.pixels(), gT,
                    g.o);
      emitMatrixProduct(t, {g.taps(), g.o, g.pixels(), false, true, g.dt}, col, gT, partial);
    });
    return;
  }
  }
}

} // namespace

size_t convScratchBytes(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in,
                        const Target &) {
  ConvGeometry g = geometryOf(op, out, in);
  return size_t(g.slots() * g.slotBytes());
}

void emitConvolution(KernelBuilder &k) {
  ConvGeometry g = geometryOf(k.op, k.outShape, k.inShapes);
  auto &b = k.b;
  if (g.n == 0 || product(k.outShape) == 0) { // nothing to compute, or only zeros
    k.fill(0, product(k.outShape));
    return;
  }
  llvm::Value *null = llvm::ConstantPointerNull::get(llvm::PointerType::get(b.getContext(), 0));
  llvm::Value *scratch = k.scratch() ? k.scratch() : null;
  emitParallelFor(k, "slots", {k.in(0), k.in(1), k.out(), scratch}, g.slots(),
                  [&](KernelBuilder &t, const std::vector<llvm::Value *> &pointers,
                      llvm::Value *slot) { emitSlot(t, g, pointers, slot); });
  if (g.pass != ConvolutionOp::Conv2dBackwardWeight)
    return;
  // dW = (Σ over slots of the partial dWᵀ)ᵀ, summed in slot order.
  int64_t slotBytes = g.slotBytes(), size = g.taps() * g.o;
  int64_t partialOffset = g.colBytes() + g.bytes(g.pixels() * g.o);
  auto partial = [&](llvm::Value *slot) {
    return b.CreateInBoundsGEP(
        b.getInt8Ty(), scratch,
        b.CreateNSWAdd(b.CreateNSWMul(slot, k.i64(slotBytes)), k.i64(partialOffset)));
  };
  llvm::Value *sum = partial(k.i64(0));
  k.loop(1, g.slots(), [&](llvm::Value *s) {
    llvm::Value *next = partial(s);
    k.loop(0, size, [&](llvm::Value *i) {
      k.store(g.dt, k.add(k.load(g.dt, sum, i), k.load(g.dt, next, i)), sum, i);
    });
  });
  k.loop(0, g.o, [&](llvm::Value *o) {
    k.loop(0, g.taps(), [&](llvm::Value *r) {
      llvm::Value *v = k.load(g.dt, sum, b.CreateNSWAdd(b.CreateNSWMul(r, k.i64(g.o)), o));
      k.storeOut(v, b.CreateNSWAdd(b.CreateNSWMul(o, k.i64(g.taps())), r));
    });
  });
}

} // namespace nabla::codegen
