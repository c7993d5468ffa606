//===- Kernels.h - The body of each op's kernel -----------------*- C++ -*-===//
#pragma once

#include "codegen/KernelBuilder.h"

namespace nabla::codegen {

/// Emits the body of the kernel for k.op (ending with `ret`).
void emitKernel(KernelBuilder &k);

// One function per family of ops, in the file of the same name.
void emitElementwise(KernelBuilder &k);  ///< ElementwiseKernels.cpp
void emitDataMovement(KernelBuilder &k); ///< DataMovementKernels.cpp
void emitReduction(KernelBuilder &k);    ///< ReductionKernels.cpp
void emitMatMul(KernelBuilder &k);       ///< MatMulKernels.cpp: simple loops, or emitGemm
/// Element-wise work a fused group does on the tiled product's result
/// (codegen/FusedKernels.cpp), done by each task on a row tile of its block
/// of C as soon as the tile's rows are final, on the thread that computed
/// them, while they are in its caches.
struct GemmEpilogue {
  /// The buffers the work reads and writes besides C, handed to each task.
  std::vector<llvm::Value *> pointers;
  /// Emits the work on `rows` rows of C from flat row `row` (batch * M + i),
  /// columns [col, colEnd), in the task function `t`: `pointers` as the
  /// task sees them, `c` the task's pointer to C (every batch).
  using TileFn = std::function<void(KernelBuilder &t, const std::vector<llvm::Value *> &pointers,
                                    llvm::Value *c, llvm::Value *row, int64_t rows,
                                    llvm::Value *col, llvm::Value *colEnd)>;
  TileFn emit;
};
/// GemmKernels.cpp: tiled, blocked, parallel; with `epilogue`, each task
/// applies it to its rows as they are final.
void emitGemm(KernelBuilder &k, const GemmEpilogue *epilogue = nullptr);

/// Whether a matmul of these shapes is worth the tiled kernel.
bool useGemm(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in);
/// Scratch space the tiled kernel needs (packed A, the tasks' packed blocks of B).
size_t gemmScratchBytes(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in,
                        const Target &target);
/// What the tiled kernel chose for a matmul on a target (docs/codegen.md).
struct GemmShape {
  int64_t mr, nr;      ///< the register tile: rows, columns
  int64_t kc, kBlocks; ///< K in kBlocks blocks of (about) kc
  int64_t nc, nBlocks; ///< N in nBlocks blocks of nc columns
  int64_t mBlocks;     ///< M in mBlocks blocks of whole tiles
  bool packA, packB;   ///< which operands are packed
  bool byRows;         ///< blocks of whole rows, B packed once for all of them
};
GemmShape gemmShapeOf(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in,
                      const Target &target);
/// One dense row-major product, C (m x n) = op(A) B or C += op(A) B, with
/// op(A) = A (m x k) or, transposed, the k x m matrix A read as its transpose.
struct MatrixProduct {
  int64_t m, n, k;
  bool transposeA = false;
  bool accumulate = false;
  DType dtype = DType::F32;
};
/// Emits `p` inline, on the calling thread, with the tiled micro-kernels of
/// GemmKernels.cpp (the caller parallelizes around it).
void emitMatrixProduct(KernelBuilder &k, const MatrixProduct &p, llvm::Value *a, llvm::Value *b,
                       llvm::Value *c);
/// dst[c * dstStride + r] = src[r * srcStride + c] for r < rows, c < cols,
/// where rows from `valid` (a run-time count) on read as zeros (Transpose.cpp).
void emitTranspose(KernelBuilder &k, DType dt, llvm::Value *src, int64_t srcStride, int64_t rows,
                   llvm::Value *valid, int64_t cols, llvm::Value *dst, int64_t dstStride);
/// The same with the column count known only at run time. With
/// `wholeStores` every store writes whole vectors, in an order that leaves
/// dst[0 .. cols dstStride) right; the rest of the last vector-wide block
/// of columns is overwritten, so dst needs room for W (dstStride + 1) more
/// elements (W: the target's lanes).
void emitTranspose(KernelBuilder &k, DType dt, llvm::Value *src, int64_t srcStride, int64_t rows,
                   llvm::Value *valid, llvm::Value *cols, llvm::Value *dst, int64_t dstStride,
                   bool wholeStores = false);
void emitNeural(KernelBuilder &k);      ///< NeuralKernels.cpp
void emitConvolution(KernelBuilder &k); ///< ConvolutionKernels.cpp: im2col and matrix products
void emitPooling(KernelBuilder &k);     ///< PoolingKernels.cpp

/// Scratch space a reduction needs (logsumexp's sums, a split reduction's partials).
size_t reductionScratchBytes(const ir::Op &op, const Sizes &out, const Sizes &in);
/// Scratch space a convolution op needs (its slots' im2col matrices).
size_t convScratchBytes(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in,
                        const Target &target);

/// The value element-wise `op` computes from one element of each operand
/// (`x`, in order): the scalar formula shared by every kernel that does
/// element-wise work.
llvm::Value *emitScalar(KernelBuilder &k, const ir::Op &op, const std::vector<llvm::Value *> &x);

} // namespace nabla::codegen
