//===- MatMulLoopKernels.cpp - matmul as plain loops ----------------------===//
//
// Large matmuls go to the blocked GEMM (GemmKernels.cpp); the rest run here:
// C[b] = op(A[b]) op(B[b]) with the loop order chosen per transposition so
// that the innermost loop runs along contiguous memory:
//   A B:    i, k, j    C[i, :] += A[i, k] B[k, :]
//   Aᵀ B:   k, i, j    C[i, :] += A[k, i] B[k, :]
//   A Bᵀ:   i, j, k    C[i, j] = A[i, :] . B[j, :]
//   Aᵀ Bᵀ:  i, j, k    C[i, j] = sum over k of A[k, i] B[j, k]
// No transpose is materialized.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"

namespace nabla::codegen {

void emitMatMul(KernelBuilder &k) {
  if (useGemm(k.op, k.outShape, k.inShapes)) {
    emitGemm(k);
    return;
  }
  DType dt = k.outType();
  const Sizes &c = k.outShape;
  size_t r = c.size();
  int64_t m = c[r - 2], n = c[r - 1];
  const Sizes &as = k.inShapes[0];
  bool ta = k.op.attrs.transposeA, tb = k.op.attrs.transposeB;
  int64_t kk = ta ? as[r - 2] : as[r - 1];
  int64_t batches = product(Sizes(c.begin(), c.end() - 2));
  auto &b = k.b;
  k.fill(0, product(c));
  k.loop(0, batches, [&](llvm::Value *bt) {
    llvm::Value *aBase = b.CreateNSWMul(bt, k.i64(m * kk));
    llvm::Value *bBase = b.CreateNSWMul(bt, k.i64(kk * n));
    llvm::Value *cBase = b.CreateNSWMul(bt, k.i64(m * n));
    auto at = [&](llvm::Value *i, llvm::Value *p) { // A(i, p)
      llvm::Value *index = ta ? b.CreateNSWAdd(b.CreateNSWMul(p, k.i64(m)), i)
                              : b.CreateNSWAdd(b.CreateNSWMul(i, k.i64(kk)), p);
      return k.loadIn(0, b.CreateNSWAdd(aBase, index));
    };
    auto bt2 = [&](llvm::Value *p, llvm::Value *j) { // B(p, j)
      llvm::Value *index = tb ? b.CreateNSWAdd(b.CreateNSWMul(j, k.i64(kk)), p)
                              : b.CreateNSWAdd(b.CreateNSWMul(p, k.i64(n)), j);
      return k.loadIn(1, b.CreateNSWAdd(bBase, index));
    };
    auto cIndex = [&](llvm::Value *i, llvm::Value *j) {
      return b.CreateNSWAdd(cBase, b.CreateNSWAdd(b.CreateNSWMul(i, k.i64(n)), j));
    };
    auto axpy = [&](llvm::Value *i, llvm::Value *p) { // C[i, :] += A(i, p) B(p, :)
      llvm::Value *aip = at(i, p);
      k.loop(0, n, [&](llvm::Value *j) {
        llvm::Value *ci = cIndex(i, j);
        k.storeOut(k.add(k.load(dt, k.out(), ci), k.mul(aip, bt2(p, j))), ci);
      });
    };
    if (!tb && !ta) {
      k.loop(0, m, [&](llvm::Value *i) { k.loop(0, kk, [&](llvm::Value *p) { axpy(i, p); }); });
    } else if (!tb) {
      k.loop(0, kk, [&](llvm::Value *p) { k.loop(0, m, [&](llvm::Value *i) { axpy(i, p); }); });
    } else {
      k.loop(0, m, [&](llvm::Value *i) {
        k.loop(0, n, [&](llvm::Value *j) {
          llvm::Value *dot =
              k.reduce(0, kk, k.constant(dt, 0), [&](llvm::Value *p, llvm::Value *acc) {
                return k.add(acc, k.mul(at(i, p), bt2(p, j)));
              });
          k.storeOut(dot, cIndex(i, j));
        });
      });
    }
  });
}

} // namespace nabla::codegen
