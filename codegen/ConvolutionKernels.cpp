//===- ConvolutionKernels.cpp - conv2d, pooling and their derivatives -----===//
//
// Direct loops over NCHW data and OIHW weights, as the interpreter computes
// them: a tap of a convolution multiplies x[n, c, i s + p - pad, j s + q - pad]
// by w[o, c, p, q] into out[n, o, i, j] (skipped in the padding).
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"

#include <limits>

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Calls tap(x index, w index, out index) for each multiply of a convolution
/// of x (`xs`) with w (`ws`) into `os`.
void forEachTap(KernelBuilder &k, const Sizes &xs, const Sizes &ws, const Sizes &os,
                const std::function<void(llvm::Value *, llvm::Value *, llvm::Value *)> &tap) {
  auto &b = k.b;
  const ir::Attrs &a = k.op.attrs;
  int64_t c = xs[1], h = xs[2], wd = xs[3], kh = ws[2], kw = ws[3];
  Sizes xStrides = stridesOf(xs), wStrides = stridesOf(ws), oStrides = stridesOf(os);
  k.forEachIndex(os, [&](const std::vector<llvm::Value *> &o) { // n, f, i, j
    k.loop(0, c, [&](llvm::Value *ch) {
      k.loop(0, kh, [&](llvm::Value *p) {
        llvm::Value *y = b.CreateNSWAdd(b.CreateNSWMul(o[2], k.i64(a.stride[0])),
                                        b.CreateNSWSub(p, k.i64(a.padding[0])));
        llvm::Value *yOk = b.CreateAnd(b.CreateICmpSGE(y, k.i64(0)), b.CreateICmpSLT(y, k.i64(h)));
        k.ifThen(yOk, [&] {
          k.loop(0, kw, [&](llvm::Value *q) {
            llvm::Value *z = b.CreateNSWAdd(b.CreateNSWMul(o[3], k.i64(a.stride[1])),
                                            b.CreateNSWSub(q, k.i64(a.padding[1])));
            llvm::Value *zOk =
                b.CreateAnd(b.CreateICmpSGE(z, k.i64(0)), b.CreateICmpSLT(z, k.i64(wd)));
            k.ifThen(zOk, [&] {
              tap(k.linear({o[0], ch, y, z}, xStrides), k.linear({o[1], ch, p, q}, wStrides),
                  k.linear(o, oStrides));
            });
          });
        });
      });
    });
  });
}

/// Calls body(window positions' linear indices, output index) for every
/// pooling window of x (`xs`) into `os`.
void forEachWindow(KernelBuilder &k, const Sizes &xs, const Sizes &os,
                   const std::function<
                       void(const std::function<void(const std::function<void(llvm::Value *)> &)> &,
                            llvm::Value *)> &body) {
  auto &b = k.b;
  const ir::Attrs &a = k.op.attrs;
  Sizes xStrides = stridesOf(xs), oStrides = stridesOf(os);
  k.forEachIndex(os, [&](const std::vector<llvm::Value *> &o) {
    auto positions = [&](const std::function<void(llvm::Value *)> &visit) {
      k.loop(0, a.window[0], [&](llvm::Value *p) {
        k.loop(0, a.window[1], [&](llvm::Value *q) {
          llvm::Value *y = b.CreateNSWAdd(b.CreateNSWMul(o[2], k.i64(a.stride[0])), p);
          llvm::Value *z = b.CreateNSWAdd(b.CreateNSWMul(o[3], k.i64(a.stride[1])), q);
          visit(k.linear({o[0], o[1], y, z}, xStrides));
        });
      });
    };
    body(positions, k.linear(o, oStrides));
  });
}

} // namespace

void emitConvolution(KernelBuilder &k) {
  DType dt = k.outType();
  auto &b = k.b;
  const ir::Attrs &a = k.op.attrs;
  const double inf = std::numeric_limits<double>::infinity();
  switch (k.op.kind) {
  case OpKind::Conv2d:
    k.fill(0, product(k.outShape));
    forEachTap(k, k.inShapes[0], k.inShapes[1], k.outShape,
               [&](llvm::Value *x, llvm::Value *w, llvm::Value *o) {
                 k.storeOut(k.add(k.load(dt, k.out(), o), k.mul(k.loadIn(0, x), k.loadIn(1, w))),
                            o);
               });
    return;
  case OpKind::Conv2dBackwardInput: // (g, w) -> dx
    k.fill(0, product(k.outShape));
    forEachTap(k, k.outShape, k.inShapes[1], k.inShapes[0],
               [&](llvm::Value *x, llvm::Value *w, llvm::Value *o) {
                 k.storeOut(k.add(k.load(dt, k.out(), x), k.mul(k.loadIn(0, o), k.loadIn(1, w))),
                            x);
               });
    return;
  case OpKind::Conv2dBackwardWeight: // (x, g) -> dw
    k.fill(0, product(k.outShape));
    forEachTap(k, k.inShapes[0], k.outShape, k.inShapes[1],
               [&](llvm::Value *x, llvm::Value *w, llvm::Value *o) {
                 k.storeOut(k.add(k.load(dt, k.out(), w), k.mul(k.loadIn(1, o), k.loadIn(0, x))),
                            w);
               });
    return;
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d: {
    bool isMax = k.op.kind == OpKind::MaxPool2d;
    double area = double(a.window[0] * a.window[1]);
    forEachWindow(k, k.inShapes[0], k.outShape, [&](auto positions, llvm::Value *o) {
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
  case OpKind::MaxPool2dBackward:  // (x, g) -> dx: g split evenly among each window's maxima
  case OpKind::MaxPool2dTangent: { // (x, u) -> mean of u over each window's maxima
    bool backward = k.op.kind == OpKind::MaxPool2dBackward;
    const Sizes &xs = k.inShapes[0];
    const Sizes &os = backward ? k.inShapes[1] : k.outShape;
    if (backward)
      k.fill(0, product(k.outShape));
    forEachWindow(k, xs, os, [&](auto positions, llvm::Value *o) {
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
      if (backward) {
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
  case OpKind::AvgPool2dBackward: { // g -> dx: each window's g spread over it
    double area = double(a.window[0] * a.window[1]);
    k.fill(0, product(k.outShape));
    forEachWindow(k, k.outShape, k.inShapes[0], [&](auto positions, llvm::Value *o) {
      llvm::Value *share = k.div(k.loadIn(0, o), k.constant(dt, area));
      positions([&](llvm::Value *x) { k.storeOut(k.add(k.load(dt, k.out(), x), share), x); });
    });
    return;
  }
  default: return;
  }
}

} // namespace nabla::codegen
