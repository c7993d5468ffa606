//===- DataMovementKernels.cpp - Constants, broadcast, reshape, ... -------===//
#include "codegen/Kernels.h"

namespace nabla::codegen {

using ir::OpKind;

void emitDataMovement(KernelBuilder &k) {
  const Sizes &out = k.outShape;
  const ir::Attrs &a = k.op.attrs;
  if (k.op.info().family == ir::OpFamily::Leaf) { // a constant or a size, everywhere
    k.fill(k.op.kind == OpKind::DimSize ? double(k.sizeOf(a.dim)) : a.value, product(out));
    return;
  }
  switch (ir::asLayout(k.op.kind)) {
  case ir::LayoutOp::Reshape:
    k.loop(0, product(out), [&](llvm::Value *i) { k.storeOut(k.loadIn(0, i), i); });
    return;
  case ir::LayoutOp::Broadcast: {
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
  case ir::LayoutOp::Transpose: {
    Sizes inStrides = stridesOf(k.inShapes[0]), strides(out.size());
    for (size_t d = 0; d < out.size(); ++d)
      strides[d] = inStrides[a.perm[d]];
    Sizes outStrides = stridesOf(out);
    k.forEachIndex(out, [&](const std::vector<llvm::Value *> &idx) {
      k.storeOut(k.loadIn(0, k.linear(idx, strides)), k.linear(idx, outStrides));
    });
    return;
  }
  case ir::LayoutOp::Concat: {
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
  case ir::LayoutOp::Slice: {
    Sizes inStrides = stridesOf(k.inShapes[0]);
    int64_t start = k.sizeOf(a.start);
    if (a.fromEnd)
      start = k.inShapes[0][size_t(a.axis)] - start;
    Sizes outStrides = stridesOf(out);
    k.forEachIndex(out, [&](const std::vector<llvm::Value *> &idx) {
      llvm::Value *src = k.linear(idx, inStrides, start * inStrides[a.axis]);
      k.storeOut(k.loadIn(0, src), k.linear(idx, outStrides));
    });
    return;
  }
  case ir::LayoutOp::Pad: { // zeros, then the operand at its place
    Sizes outStrides = stridesOf(out), inStrides = stridesOf(k.inShapes[0]);
    int64_t start = k.sizeOf(a.start);
    if (a.fromEnd)
      start = out[size_t(a.axis)] - start;
    llvm::Value *zero = llvm::Constant::getNullValue(k.typeOf(k.outType()));
    k.forEachIndex(out, [&](const std::vector<llvm::Value *> &idx) {
      k.storeOut(zero, k.linear(idx, outStrides));
    });
    k.forEachIndex(k.inShapes[0], [&](const std::vector<llvm::Value *> &idx) {
      llvm::Value *dst = k.linear(idx, outStrides, start * outStrides[a.axis]);
      k.storeOut(k.loadIn(0, k.linear(idx, inStrides)), dst);
    });
    return;
  }
  }
}

} // namespace nabla::codegen
