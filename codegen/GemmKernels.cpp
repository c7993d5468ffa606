//===- GemmKernels.cpp - matmul as register-tiled, blocked, parallel code --===//
//
// C[b] = op(A[b]) op(B[b]) for the exact shapes of the run, in the BLIS
// manner:
//
//   - a micro-kernel keeps an MR x NR tile of C in vector registers (NR is
//     1, 2 or 4 vectors of the widest width, MR so that about 24 registers
//     accumulate) and, for each k, loads NR/W vectors of B, broadcasts MR
//     values of A and issues MR x NR/W fused multiply-adds;
//   - B is read in blocks of NC columns that fit in the L2 cache: directly
//     when it is row-major (each row of a panel is contiguous), packed into
//     panels first when it is transposed; A is read in place whichever way
//     it is stored (MR rows, or MR consecutive elements of a column);
//   - the blocks of columns (times the batches) are the tasks of one
//     parallel loop (runtime/ThreadPool.h); each task computes whole tiles,
//     so the result does not depend on the thread count;
//   - the edges (fewer than MR rows, fewer than NR columns) use smaller
//     tiles and masked loads and stores, never a transposed copy of A.
//
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"
#include "codegen/Parallel.h"

namespace nabla::codegen {

bool useGemm(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in);

namespace {

/// The shape of the computation and the tiling chosen for it.
struct Gemm {
  int64_t batches, m, n, k;
  bool ta, tb;
  bool accumulate; ///< C += op(A) op(B) instead of C = op(A) op(B)
  DType dt;
  int64_t width;      ///< elements per vector register
  int64_t nrVectors;  ///< NR / width
  int64_t mr, nr, nc; ///< tile rows, tile columns, block columns
  int64_t blocks;     ///< column blocks per batch
  int64_t panelsPerBlock;

  int64_t tasks() const { return batches * blocks; }
  /// Bytes of packed B one task needs (0 when B is read in place).
  int64_t packedBytesPerTask() const {
    return tb ? k * panelsPerBlock * nr * int64_t(dtypeSize(dt)) : 0;
  }
};

Gemm plan(int64_t batches, int64_t m, int64_t n, int64_t k, bool ta, bool tb, bool accumulate,
          DType dt) {
  Gemm g;
  g.batches = batches;
  g.m = m;
  g.n = n;
  g.k = k;
  g.ta = ta;
  g.tb = tb;
  g.accumulate = accumulate;
  g.dt = dt;
  int64_t es = int64_t(dtypeSize(g.dt));
  g.width = 64 / es;
  g.nrVectors = g.n >= 3 * g.width ? 4 : g.n > g.width ? 2 : 1;
  g.nr = g.nrVectors * g.width;
  g.mr = std::min<int64_t>(24 / g.nrVectors, g.m);
  // A block of B (K x NC) stays in the L2 cache; at least two blocks when
  // there are columns enough, so that two threads have work.
  int64_t panels = (g.n + g.nr - 1) / g.nr;
  int64_t fit = std::max<int64_t>(1, (256 << 10) / (std::max<int64_t>(1, g.k) * g.nr * es));
  g.panelsPerBlock = std::min(fit, panels);
  if (panels >= 2)
    g.panelsPerBlock = std::min(g.panelsPerBlock, (panels + 1) / 2);
  g.nc = g.panelsPerBlock * g.nr;
  g.blocks = (panels + g.panelsPerBlock - 1) / g.panelsPerBlock;
  return g;
}

/// The plan of a matmul op.
Gemm plan(const ir::Op &op, const Sizes &c, const std::vector<Sizes> &in) {
  size_t r = c.size();
  int64_t k = op.attrs.transposeA ? in[0][r - 2] : in[0][r - 1];
  return plan(product(Sizes(c.begin(), c.end() - 2)), c[r - 2], c[r - 1], k, op.attrs.transposeA,
              op.attrs.transposeB, false, op.result.type.dtype);
}

/// Emits the tiles of one column block of one batch's C.
class TileEmitter {
public:
  TileEmitter(KernelBuilder &k, const Gemm &g) : k_(k), b_(k.b), g_(g) {
    vecType_ = llvm::FixedVectorType::get(k.typeOf(g.dt), unsigned(g.width));
  }

  /// The matrices of the batch (and, when B is transposed, this task's
  /// space for packed panels).
  void matrices(llvm::Value *a, llvm::Value *b, llvm::Value *c, llvm::Value *packed) {
    a_ = a;
    bm_ = b;
    c_ = c;
    panelBase_ = packed;
  }

  /// Column block `block` (a run-time index) of C.
  void block(llvm::Value *block) {
    llvm::Value *j0 = b_.CreateNSWMul(block, k_.i64(g_.nc));
    if (g_.tb)
      pack(j0);
    // Full blocks have panelsPerBlock panels; the last may have fewer, and
    // its last panel fewer than NR columns (the edge, computed only there).
    int64_t lastBlockStart = (g_.blocks - 1) * g_.nc;
    int64_t lastFull = g_.n / g_.nr - lastBlockStart / g_.nr;
    int64_t edge = g_.n % g_.nr;
    llvm::Value *isLast = b_.CreateICmpEQ(block, k_.i64(g_.blocks - 1));
    llvm::Value *full = b_.CreateSelect(isLast, k_.i64(lastFull), k_.i64(g_.panelsPerBlock));
    rows(j0, full, lastFull, edge, isLast);
  }

private:
  /// Every row panel against `full` panels of NR columns from j0 (a run-time
  /// count), then, in the last block only, one panel of `edge` columns
  /// after its `lastFull` full ones.
  void rows(llvm::Value *j0, llvm::Value *full, int64_t lastFull, int64_t edge,
            llvm::Value *isLast) {
    int64_t fullRows = g_.m / g_.mr, edgeRows = g_.m % g_.mr;
    auto columns = [&](llvm::Value *i0, int64_t mr) {
      k_.loopBetween(k_.i64(0), full, [&](llvm::Value *p) { micro(i0, j0, p, mr, g_.nr); });
      if (edge > 0)
        k_.ifThen(isLast, [&] { micro(i0, j0, k_.i64(lastFull), mr, edge); });
    };
    if (fullRows > 0)
      k_.loop(0, fullRows,
              [&](llvm::Value *ib) { columns(b_.CreateNSWMul(ib, k_.i64(g_.mr)), g_.mr); });
    if (edgeRows > 0)
      columns(k_.i64(fullRows * g_.mr), edgeRows);
  }

  /// Element (i, kk) of op(A).
  llvm::Value *aAt(llvm::Value *i, llvm::Value *kk) {
    llvm::Value *index = g_.ta ? b_.CreateNSWAdd(b_.CreateNSWMul(kk, k_.i64(g_.m)), i)
                               : b_.CreateNSWAdd(b_.CreateNSWMul(i, k_.i64(g_.k)), kk);
    return k_.load(g_.dt, a_, index);
  }

  /// The address of vector v of row kk of panel p (columns j0 + p NR + v W on).
  llvm::Value *bVector(llvm::Value *j0, llvm::Value *p, llvm::Value *kk, int64_t v) {
    if (g_.tb) {
      // Packed: panel p of this task, K rows of NR elements.
      llvm::Value *index = b_.CreateNSWAdd(
          b_.CreateNSWMul(b_.CreateNSWAdd(b_.CreateNSWMul(p, k_.i64(g_.k)), kk), k_.i64(g_.nr)),
          k_.i64(v * g_.width));
      return b_.CreateInBoundsGEP(k_.typeOf(g_.dt), panelBase_, index);
    }
    llvm::Value *column = b_.CreateNSWAdd(
        j0, b_.CreateNSWAdd(b_.CreateNSWMul(p, k_.i64(g_.nr)), k_.i64(v * g_.width)));
    llvm::Value *index = b_.CreateNSWAdd(b_.CreateNSWMul(kk, k_.i64(g_.n)), column);
    return b_.CreateInBoundsGEP(k_.typeOf(g_.dt), bm_, index);
  }

  /// The address of vector v of row i0 + r of C in panel p.
  llvm::Value *cVector(llvm::Value *i0, llvm::Value *j0, llvm::Value *p, int64_t r, int64_t v) {
    llvm::Value *row = b_.CreateNSWAdd(i0, k_.i64(r));
    llvm::Value *column = b_.CreateNSWAdd(
        j0, b_.CreateNSWAdd(b_.CreateNSWMul(p, k_.i64(g_.nr)), k_.i64(v * g_.width)));
    llvm::Value *index = b_.CreateNSWAdd(b_.CreateNSWMul(row, k_.i64(g_.n)), column);
    return b_.CreateInBoundsGEP(k_.typeOf(g_.dt), c_, index);
  }

  /// A mask of the first `lanes` lanes.
  llvm::Value *mask(int64_t lanes) {
    std::vector<llvm::Constant *> bits;
    for (int64_t l = 0; l < g_.width; ++l)
      bits.push_back(b_.getInt1(l < lanes));
    return llvm::ConstantVector::get(bits);
  }

  /// The tile of rows i0.. (mr of them) and columns of panel p (nr of them).
  void micro(llvm::Value *i0, llvm::Value *j0, llvm::Value *p, int64_t mr, int64_t nr) {
    int64_t vectors = (nr + g_.width - 1) / g_.width, lastLanes = nr - (vectors - 1) * g_.width;
    llvm::Align elementAlign(dtypeSize(g_.dt));
    llvm::Function *fn = b_.GetInsertBlock()->getParent();
    llvm::LLVMContext &ctx = b_.getContext();
    // The tile starts at zero, or at C's values when accumulating.
    auto isPartial = [&](int64_t v) { return v == vectors - 1 && lastLanes < g_.width; };
    llvm::Value *zero = llvm::Constant::getNullValue(vecType_);
    std::vector<llvm::Value *> start(size_t(mr * vectors), zero);
    if (g_.accumulate)
      for (int64_t r = 0; r < mr; ++r)
        for (int64_t v = 0; v < vectors; ++v) {
          llvm::Value *ptr = cVector(i0, j0, p, r, v);
          start[size_t(r * vectors + v)] =
              isPartial(v) ? static_cast<llvm::Value *>(b_.CreateMaskedLoad(
                                 vecType_, ptr, elementAlign, mask(lastLanes), zero))
                           : b_.CreateAlignedLoad(vecType_, ptr, elementAlign);
        }
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *header = llvm::BasicBlock::Create(ctx, "k_loop", fn);
    auto *body = llvm::BasicBlock::Create(ctx, "k_body", fn);
    auto *exit = llvm::BasicBlock::Create(ctx, "k_exit", fn);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode *kk = b_.CreatePHI(b_.getInt64Ty(), 2, "k");
    kk->addIncoming(k_.i64(0), pre);
    std::vector<llvm::PHINode *> acc;
    for (int64_t i = 0; i < mr * vectors; ++i) {
      acc.push_back(b_.CreatePHI(vecType_, 2, "acc"));
      acc.back()->addIncoming(start[size_t(i)], pre);
    }
    b_.CreateCondBr(b_.CreateICmpSLT(kk, k_.i64(g_.k)), body, exit);
    b_.SetInsertPoint(body);
    std::vector<llvm::Value *> bv;
    for (int64_t v = 0; v < vectors; ++v) {
      llvm::Value *ptr = bVector(j0, p, kk, v);
      bool partial = isPartial(v) && !g_.tb;
      if (partial)
        bv.push_back(b_.CreateMaskedLoad(vecType_, ptr, elementAlign, mask(lastLanes), zero));
      else
        bv.push_back(b_.CreateAlignedLoad(vecType_, ptr, elementAlign));
    }
    std::vector<llvm::Value *> next(acc.size());
    for (int64_t r = 0; r < mr; ++r) {
      llvm::Value *a =
          b_.CreateVectorSplat(unsigned(g_.width), aAt(b_.CreateNSWAdd(i0, k_.i64(r)), kk));
      for (int64_t v = 0; v < vectors; ++v)
        next[size_t(r * vectors + v)] =
            k_.intrinsic(llvm::Intrinsic::fma, {a, bv[size_t(v)], acc[size_t(r * vectors + v)]});
    }
    llvm::BasicBlock *latch = b_.GetInsertBlock();
    kk->addIncoming(b_.CreateNSWAdd(kk, k_.i64(1)), latch);
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i]->addIncoming(next[i], latch);
    // The tile is the unrolled part: copies of it would only cost compile time.
    llvm::BranchInst *back = b_.CreateBr(header);
    llvm::MDNode *noUnroll =
        llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")});
    llvm::MDNode *loopId = llvm::MDNode::getDistinct(ctx, {nullptr, noUnroll});
    loopId->replaceOperandWith(0, loopId);
    back->setMetadata(llvm::LLVMContext::MD_loop, loopId);
    b_.SetInsertPoint(exit);
    // Store the tile.
    for (int64_t r = 0; r < mr; ++r) {
      for (int64_t v = 0; v < vectors; ++v) {
        llvm::Value *ptr = cVector(i0, j0, p, r, v);
        llvm::Value *value = acc[size_t(r * vectors + v)];
        if (isPartial(v))
          b_.CreateMaskedStore(value, ptr, elementAlign, mask(lastLanes));
        else
          b_.CreateAlignedStore(value, ptr, elementAlign);
      }
    }
  }

  /// Packs the task's block of transposed B: panel p holds, for each k,
  /// the NR columns j0 + p NR ... (zero beyond N). Column j of op(B) is row
  /// j of B, so a panel is the transpose of NR rows of B.
  void pack(llvm::Value *j0) {
    k_.loop(0, g_.panelsPerBlock, [&](llvm::Value *p) {
      llvm::Value *first = b_.CreateNSWAdd(j0, b_.CreateNSWMul(p, k_.i64(g_.nr)));
      llvm::Value *rows = b_.CreateNSWSub(k_.i64(g_.n), first); // of B left from `first`
      llvm::Value *source = b_.CreateGEP(k_.typeOf(g_.dt), bm_, b_.CreateMul(first, k_.i64(g_.k)));
      llvm::Value *panel = b_.CreateInBoundsGEP(k_.typeOf(g_.dt), panelBase_,
                                                b_.CreateNSWMul(p, k_.i64(g_.k * g_.nr)));
      emitTranspose(k_, g_.dt, source, g_.k, g_.nr, rows, g_.k, panel, g_.nr);
    });
  }

  KernelBuilder &k_;
  llvm::IRBuilder<> &b_;
  const Gemm &g_;
  llvm::Value *a_ = nullptr, *bm_ = nullptr, *c_ = nullptr, *panelBase_ = nullptr;
  llvm::Type *vecType_;
};

} // namespace

bool useGemm(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in) {
  if (op.kind != ir::OpKind::MatMul || !isFloat(op.result.type.dtype) || out.size() < 2)
    return false;
  size_t r = out.size();
  int64_t k = op.attrs.transposeA ? in[0][r - 2] : in[0][r - 1];
  // Small products stay simple loops: the tiles would be mostly edge.
  return out[r - 2] * out[r - 1] * k >= 16384 && out[r - 1] >= 8;
}

size_t gemmScratchBytes(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in) {
  if (!useGemm(op, out, in))
    return 0;
  Gemm g = plan(op, out, in);
  // The packed panels of every task.
  return size_t(g.tasks() * g.packedBytesPerTask());
}

void emitGemm(KernelBuilder &k) {
  Gemm g = plan(k.op, k.outShape, k.inShapes);
  llvm::Value *null = llvm::ConstantPointerNull::get(llvm::PointerType::get(k.b.getContext(), 0));
  std::vector<llvm::Value *> pointers = {k.in(0), k.in(1), k.out(),
                                         k.scratch() ? k.scratch() : null};
  // One task per column block of each batch.
  emitParallelFor(k, "tasks", pointers, g.tasks(),
                  [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *task) {
                    auto &b = t.b;
                    llvm::Value *batch = b.CreateSDiv(task, t.i64(g.blocks));
                    llvm::Value *block = b.CreateSRem(task, t.i64(g.blocks));
                    llvm::Type *element = t.typeOf(g.dt);
                    auto matrix = [&](llvm::Value *base, int64_t size) {
                      return b.CreateInBoundsGEP(element, base, b.CreateNSWMul(batch, t.i64(size)));
                    };
                    llvm::Value *packed =
                        g.tb ? b.CreateInBoundsGEP(
                                   b.getInt8Ty(), at[3],
                                   b.CreateNSWMul(task, t.i64(g.packedBytesPerTask())))
                             : nullptr;
                    TileEmitter tiles(t, g);
                    tiles.matrices(matrix(at[0], g.m * g.k), matrix(at[1], g.k * g.n),
                                   matrix(at[2], g.m * g.n), packed);
                    tiles.block(block);
                  });
}

void emitMatrixProduct(KernelBuilder &k, const MatrixProduct &p, llvm::Value *a, llvm::Value *b,
                       llvm::Value *c) {
  Gemm g = plan(1, p.m, p.n, p.k, p.transposeA, false, p.accumulate, p.dtype);
  TileEmitter tiles(k, g);
  tiles.matrices(a, b, c, nullptr);
  k.loop(0, g.blocks, [&](llvm::Value *block) { tiles.block(block); });
}

} // namespace nabla::codegen
