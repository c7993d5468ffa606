//===- TransposeKernels.cpp - A matrix transposed by vector blocks ---===//
//
// A W x W block (W lanes of the target's widest vector) is W rows loaded as
// vectors, masked at the edges; log2(W) rounds of shuffles (AVX-512: four
// for f32, three for f64; AVX2: three and two) then each swap the
// off-diagonal halves of ever smaller blocks:
//
//   [A B]    [A C]
//   [C D] -> [B D]   at half-size W/2, then W/4 inside each quarter, ... 1
//
// and the rows are the block's columns, stored as vectors: masked at the
// edges, or whole (AVX2's masked stores are slow on some CPUs) where the
// caller's buffer can take what spills past them.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"

namespace nabla::codegen {

void emitTranspose(KernelBuilder &k, DType dt, llvm::Value *src, int64_t srcStride, int64_t rows,
                   llvm::Value *valid, int64_t cols, llvm::Value *dst, int64_t dstStride) {
  emitTranspose(k, dt, src, srcStride, rows, valid, k.i64(cols), dst, dstStride);
}

void emitTranspose(KernelBuilder &k, DType dt, llvm::Value *src, int64_t srcStride, int64_t rows,
                   llvm::Value *valid, llvm::Value *cols, llvm::Value *dst, int64_t dstStride,
                   bool wholeStores) {
  auto &b = k.b;
  unsigned lanes = k.lanesOf(dt);
  int64_t width = int64_t(lanes);
  llvm::Type *vector = k.vectorOf(dt);
  llvm::Value *zero = llvm::Constant::getNullValue(vector);
  llvm::Align align(dtypeSize(dt));
  auto splat = [&](llvm::Value *v) { return b.CreateVectorSplat(lanes, v); };
  int64_t rowBlocks = (rows + width - 1) / width;
  k.loop(
      0, rowBlocks,
      [&](llvm::Value *step) {
        // Whole stores spill past a partial block's last row into the next
        // column's first rows: the first block, written last, mends them.
        llvm::Value *rowBlock = wholeStores ? b.CreateNSWSub(k.i64(rowBlocks - 1), step) : step;
        llvm::Value *r0 = b.CreateNSWMul(rowBlock, k.i64(width));
        llvm::Value *storeMask = k.lanesBelow(lanes, r0, k.i64(rows));
        // The block's rows (those from `valid` on read as zeros) and where
        // they and its columns start: every address below is one of these
        // plus a constant, so LLVM's loop strength reduction has one
        // induction variable to handle, not one per row and column.
        std::vector<llvm::Value *> rowOk;
        for (unsigned r = 0; r < lanes; ++r)
          rowOk.push_back(splat(b.CreateICmpSLT(b.CreateAdd(r0, k.i64(r)), valid)));
        llvm::Value *rowsFrom = k.maskedAddress(dt, src, b.CreateMul(r0, k.i64(srcStride)));
        llvm::Value *columnsTo = k.maskedAddress(dt, dst, r0);
        llvm::Value *colBlocks = b.CreateSDiv(b.CreateNSWAdd(cols, k.i64(width - 1)), k.i64(width));
        k.loopBetween(k.i64(0), colBlocks, [&](llvm::Value *colBlock) {
          llvm::Value *c0 = b.CreateNSWMul(colBlock, k.i64(width));
          llvm::Value *left = b.CreateNSWSub(cols, c0); // columns from c0 on
          llvm::Value *loadMask = k.lanesBelow(lanes, k.i64(0), left);
          llvm::Value *from = k.maskedAddress(dt, rowsFrom, c0);
          llvm::Value *to = k.maskedAddress(dt, columnsTo, b.CreateMul(c0, k.i64(dstStride)));
          std::vector<llvm::Value *> v;
          for (unsigned r = 0; r < lanes; ++r)
            v.push_back(b.CreateMaskedLoad(vector,
                                           k.maskedAddress(dt, from, k.i64(int64_t(r) * srcStride)),
                                           align, b.CreateAnd(loadMask, rowOk[r]), zero));
          for (unsigned h = lanes / 2; h >= 1; h /= 2) {
            std::vector<int> low, high;
            for (unsigned c = 0; c < lanes; ++c) {
              unsigned chunk = c / (2 * h) * 2 * h, pos = c % (2 * h);
              low.push_back(int(pos < h ? chunk + pos : lanes + chunk + pos - h));
              high.push_back(int(pos < h ? chunk + h + pos : lanes + chunk + pos));
            }
            std::vector<llvm::Value *> next(lanes);
            for (unsigned i = 0; i < lanes; ++i)
              if (!(i & h)) {
                next[i] = b.CreateShuffleVector(v[i], v[i + h], low);
                next[i + h] = b.CreateShuffleVector(v[i], v[i + h], high);
              }
            v = std::move(next);
          }
          for (unsigned c = 0; c < lanes; ++c) {
            llvm::Value *at = k.maskedAddress(dt, to, k.i64(int64_t(c) * dstStride));
            if (wholeStores)
              b.CreateAlignedStore(v[c], at, align);
            else
              b.CreateMaskedStore(v[c], at, align,
                                  b.CreateAnd(storeMask, splat(b.CreateICmpSLT(k.i64(c), left))));
          }
        });
      },
      /*rolled=*/true); // one copy of the block's shuffles is code enough
}

} // namespace nabla::codegen
