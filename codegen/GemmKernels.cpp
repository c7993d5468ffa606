//===- GemmKernels.cpp - matmul as register-tiled, blocked, parallel code --===//
//
// C[b] = op(A[b]) op(B[b]) for the exact shapes of the run, in the BLIS
// manner, every size taken from the target (codegen/Target.h):
//
//   - a micro-kernel keeps an MR x NR tile of C in vector registers: NR is
//     1 to 4 vectors of the target's width W and MR as many rows as the
//     register file holds beside them (registerTile() below: 6 x 4 vectors
//     on AVX-512, 6 x 2 on AVX2). For each k it loads NR/W vectors of B,
//     broadcasts MR values of A and issues MR NR/W fused multiply-adds;
//   - K is cut into blocks of KC so that a KC x MR panel of A stays in the
//     L1 cache while the tile sweeps a block of B, N into blocks of NC
//     columns so that a KC x NC block of B stays in the L2 cache;
//   - the block of B is packed into contiguous KC x NR panels (zero beyond
//     N) when it is transposed, when eight row tiles or more reuse it, or
//     when it would be read poorly in place; A, when
//     many panels of B reuse it and it would be read poorly in place, is
//     packed once, before the products, into KC x MR panels (one per tile
//     of rows and block of K) that every task reads, so that a tile's A is
//     contiguous and cannot conflict in the caches however A's rows are
//     strided; small products read both in place (docs/codegen.md says
//     when each is packed);
//   - the tasks of one parallel loop (runtime/ThreadPool.h) are the column
//     blocks x row blocks x batches; each task computes whole tiles, and
//     every element of C is one chain of multiply-adds in k order whatever
//     the blocking, so the result does not depend on the thread count;
//   - a product with more rows than K (a weight's gradient) whose B fits one
//     block is cut into blocks of whole rows instead, B packed once for all
//     of them; a fused group anchored by it (the optimizer's update) runs
//     on each tile of rows as soon as it is final (GemmEpilogue);
//   - a tile reading B in place prefetches it ahead;
//   - the edges (fewer than MR rows, fewer than NR columns) use smaller
//     tiles and masked loads and stores.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernels.h"
#include "codegen/Parallel.h"

#include <numeric>

namespace nabla::codegen {

bool useGemm(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in);

namespace {

/// Rows of a register tile at most: ten or so accumulators already hide the
/// multiply-add latency, and more rows only lengthen the edge code.
constexpr int64_t kMaxTileRows = 14;
/// K blocks: the A panel's share of L1 is half of it; KC within these bounds.
constexpr int64_t kMinKc = 64, kMaxKc = 512;
/// A parallel product has this many tasks at least when it is large enough.
constexpr int64_t kMinTasks = 4;
/// A is packed when this many panels of B (or more) reuse each of its tiles.
constexpr int64_t kMinPanelsToPackA = 8;
/// Row tiles beyond which A is packed in any case.
constexpr int64_t kManyTiles = 64;
/// Row tiles of a block from which its block of B is packed whatever B's
/// layout: in a training step B (a weight the last step's update wrote,
/// an activation another core just wrote) comes from outside L2; packed,
/// it is read once, in order, and then contiguous from L2 by each tile.
/// On the benchmark MLP's step (docs/performance.md) layer 2 (21 tiles)
/// took 146 instead of 159 µs; alone, with B in cache, products of 21
/// tiles ran 4% faster to 1% slower.
constexpr int64_t kTilesToPackB = 8;
/// Row tiles of A each packing task takes.
constexpr int64_t kTilesPerPackTask = 8;
/// Rows of B (steps of k) ahead that a tile reading B in place prefetches
/// it: in a training step B was just written by another kernel, on the
/// other core or out of the caches, far slower to reach than the 12 cycles
/// of multiply-adds a step of k takes, and its rows (N apart) defeat the
/// hardware prefetchers. Measured on the benchmark MLP's step (docs/
/// performance.md): 24 to 48 alike; prefetching in every tile of a block,
/// not only its first, faster in the step. Blocks of kTilesToPackB tiles
/// or more pack B instead; at B=32 (blocks of 5 tiles) the prefetches
/// still take the step from 685 to 669 µs.
constexpr int64_t kPrefetchStepsOfB = 32;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/// The L1 sets that rows `stride` bytes apart, `bytes` of each read, fall
/// in: x86 L1 data caches have 64 sets of 64-byte lines (a 4 KiB way), so
/// rows start in 4096 / gcd(stride, 4096) places of a way, each covering
/// bytes / 64 sets. (Rows 2 KiB apart use 2 sets with 64-byte rows: 16
/// lines for a whole panel, on an 8-way cache.)
int64_t streamingSets(int64_t stride, int64_t bytes) {
  int64_t starts = 4096 / std::gcd(stride, int64_t(4096));
  return std::min<int64_t>(64, starts * ceilDiv(bytes, 64));
}

/// An MR x (NR/W vectors) register tile.
struct RegisterTile {
  int64_t rows, vectors;
};

/// The tile that loads the fewest elements per multiply-add within the
/// register file: MR NV accumulators, NV vectors of B and one broadcast of
/// A in all but one of the target's registers, i.e. MR NV + NV + 1 <=
/// registers - 1, maximizing MR NV / (MR + NV) (ties: more accumulators).
///   32 registers (AVX-512, NEON): NV = 4, MR = 6 (24 + 4 + 1 = 29)
///   16 registers (AVX2, SSE):     NV = 2, MR = 6 (12 + 2 + 1 = 15)
RegisterTile registerTile(const Target &t, int64_t m, int64_t n, int64_t width) {
  int64_t usable = int64_t(t.vectorRegisters) - 1;
  int64_t maxVectors = std::min<int64_t>(4, ceilDiv(n, width));
  RegisterTile best{1, 1};
  int64_t bestNum = 0, bestDen = 1; // best score as a fraction
  for (int64_t nv = 1; nv <= maxVectors; ++nv) {
    int64_t rows = std::min({m, kMaxTileRows, (usable - 1 - nv) / nv});
    if (rows < 1)
      continue;
    int64_t num = rows * nv, den = rows + nv;
    bool better = num * bestDen > bestNum * den ||
                  (num * bestDen == bestNum * den && rows * nv > best.rows * best.vectors);
    if (better) {
      best = {rows, nv};
      bestNum = num;
      bestDen = den;
    }
  }
  return best;
}

/// The shape of the computation and the tiling chosen for it.
struct Gemm {
  int64_t batches, m, n, k;
  bool ta, tb;
  bool accumulate; ///< C += op(A) op(B) instead of C = op(A) op(B)
  bool blocked;    ///< a parallel product with scratch of its own
  DType dt;
  int64_t es; ///< bytes per element
  // The register tile.
  int64_t width;     ///< elements per vector register
  int64_t nrVectors; ///< NR / width
  int64_t mr, nr;    ///< tile rows, tile columns
  // Blocks of K: kBlocks blocks of kc, the last of lastKc.
  int64_t kc, kBlocks, lastKc;
  // Blocks of N: panels of NR columns, panelsPerBlock to a block of nc.
  int64_t panels, panelsPerBlock, nBlocks, nc;
  // Blocks of M: fullTiles tiles of MR rows (then m % mr edge rows),
  // tilesPerBlock to a block.
  int64_t fullTiles, tilesPerBlock, mBlocks;
  bool packA, packB;
  /// Blocks of whole rows (one block of columns): B is packed once, before
  /// the products, for every row block (plan() says when).
  bool byRows = false;

  int64_t tasks() const { return batches * mBlocks * nBlocks; }

  /// Row tiles of a batch: the full ones, then one of m % mr rows.
  int64_t rowTiles() const { return fullTiles + (m % mr ? 1 : 0); }
  /// Elements between packed panels of A (KC x MR, one K block of one
  /// tile): room for the whole-vector stores that spill past a panel
  /// (emitTranspose), to a multiple of 16.
  int64_t packedPanelElements() const { return (kc * mr + width * (mr + 1) + 15) / 16 * 16; }
  /// Elements of one batch's packed A: the panels of every tile of the
  /// first K block, then of the second, ..., so that each block's panels
  /// are read in order.
  int64_t packedAElements() const { return kBlocks * rowTiles() * packedPanelElements(); }
  /// Bytes of every batch's packed A (before the tasks' space).
  int64_t packedABytes() const { return packA ? roundUp64(batches * packedAElements() * es) : 0; }
  /// Elements from one packed panel of B (KC x NR) to the next. Panels
  /// packed by rows are packed in parallel, each with room for the stores
  /// that spill past it (emitTranspose); a task's panels, packed in order,
  /// overwrite the spills of the one before.
  int64_t bPanelElements() const {
    return byRows ? (kc * nr + width * (nr + 1) + 15) / 16 * 16 : kc * nr;
  }
  /// Elements of one batch's B packed for every row block: each K block's
  /// panels in order.
  int64_t sharedBElements() const { return kBlocks * panels * bPanelElements(); }
  /// Bytes of one task's packed block of B, with room for spills; by rows,
  /// of every batch's B packed once.
  int64_t packedBBytes() const {
    if (!packB)
      return 0;
    if (byRows)
      return roundUp64((batches * sharedBElements() + width * (nr + 1)) * es);
    return roundUp64((kc * panelsPerBlock * nr + width * (nr + 1)) * es);
  }
  int64_t scratchBytes() const { return packedABytes() + (byRows ? 1 : tasks()) * packedBBytes(); }
};

/// Blocks of columns (and of rows when they are too few tasks), and
/// whether B is packed, for `g`'s product; `fit`: panels of B that half of
/// L2 holds.
void planColumns(Gemm &g, int64_t batches, int64_t fit) {
  // At least two blocks when there are columns enough, so that two threads
  // have work, and a multiple of 2 blocks (of 4 beyond 4) where the
  // columns allow, so that the usual 2 or 4 threads get equal shares.
  g.panelsPerBlock = std::min(fit, g.panels);
  if (g.panels >= 2)
    g.panelsPerBlock = std::min(g.panelsPerBlock, ceilDiv(g.panels, 2));
  g.nBlocks = ceilDiv(g.panels, g.panelsPerBlock);
  if (g.nBlocks > 1) {
    int64_t multiple = g.nBlocks > 4 ? 4 : 2;
    g.panelsPerBlock = ceilDiv(g.panels, ceilDiv(g.nBlocks, multiple) * multiple);
    g.nBlocks = ceilDiv(g.panels, g.panelsPerBlock);
  }
  // Too few tasks: cut the columns finer before cutting the rows. Every
  // task of a column block packs its block of B, so row blocks would pack
  // each block of B once per row block; A is packed once for all tasks.
  if (g.blocked && batches * g.nBlocks < kMinTasks && g.panels >= kMinTasks) {
    g.panelsPerBlock = ceilDiv(g.panels, ceilDiv(kMinTasks, batches));
    g.nBlocks = ceilDiv(g.panels, g.panelsPerBlock);
  }
  g.nc = g.panelsPerBlock * g.nr;

  // Row blocks when batches and column blocks are too few tasks. B is
  // packed when it must be (transposed), when a block's tiles are
  // kTilesToPackB or more, or when row tiles enough reuse it and reading it
  // in place is poor: a panel's rows fall in fewer than 8 of the L1
  // cache's sets (streamingSets), too few to stream through, or the tiles
  // are many (the block read again and again, contiguous for the
  // prefetchers and the TLB). A row block that packs B again is 8 tiles at
  // least. kTilesToPackB applies to the row blocks once chosen (from B's
  // layout alone), so a small product keeps its tasks for the threads.
  bool poorRowsOfB = streamingSets(g.n * g.es, g.nr * g.es) < 8;
  auto poorInPlaceB = [&](int64_t tiles) {
    return tiles >= 4 && (poorRowsOfB || tiles >= kManyTiles);
  };
  bool packWanted = g.tb || poorInPlaceB(g.fullTiles);
  g.mBlocks = 1;
  if (g.blocked && batches * g.nBlocks < kMinTasks) {
    int64_t want = ceilDiv(kMinTasks, batches * g.nBlocks);
    g.mBlocks =
        std::clamp<int64_t>(want, 1, std::max<int64_t>(1, g.fullTiles / (packWanted ? 8 : 2)));
  }
  g.tilesPerBlock = ceilDiv(g.fullTiles, g.mBlocks);
  g.mBlocks = ceilDiv(g.fullTiles, g.tilesPerBlock);
  g.packB =
      g.blocked && (g.tb || poorInPlaceB(g.tilesPerBlock) || g.tilesPerBlock >= kTilesToPackB);
}

/// The plan of a product for `target`. Without `blocked` (a product inside
/// another kernel's task, with no scratch of its own) K is one block and
/// nothing is packed.
Gemm plan(int64_t batches, int64_t m, int64_t n, int64_t k, bool ta, bool tb, bool accumulate,
          DType dt, const Target &target, bool blocked) {
  Gemm g;
  g.batches = batches;
  g.m = m;
  g.n = n;
  g.k = k;
  g.ta = ta;
  g.tb = tb;
  g.accumulate = accumulate;
  g.blocked = blocked;
  g.dt = dt;
  g.es = int64_t(dtypeSize(dt));
  g.width = target.lanes(dt);
  RegisterTile tile = registerTile(target, m, n, g.width);
  g.mr = tile.rows;
  g.nrVectors = tile.vectors;
  g.nr = g.nrVectors * g.width;

  // KC: the A panel (KC x MR) in half of L1, in equal blocks.
  int64_t kcMax = std::clamp<int64_t>(target.caches.l1d / 2 / (g.mr * g.es), kMinKc, kMaxKc);
  g.kBlocks = blocked ? std::max<int64_t>(1, ceilDiv(k, kcMax)) : 1;
  g.kc = std::max<int64_t>(1, ceilDiv(k, g.kBlocks));
  g.lastKc = k - (g.kBlocks - 1) * g.kc;

  // NC: the block of B (KC x NC) in half of L2.
  g.panels = ceilDiv(n, g.nr);
  int64_t fit = std::max<int64_t>(1, target.caches.l2 / 2 / (g.kc * g.nr * g.es));
  g.fullTiles = m / g.mr;
  // Rows or columns. When C is larger than B (M > K: a weight's gradient
  // xᵀ·δ, whose epilogue is the optimizer's update) and one block of B
  // holds all its columns, the tasks take blocks of whole rows and B is
  // packed once for all of them (every row block reads all of it): each
  // task owns whole rows of C, which its epilogue (FusedKernels.cpp)
  // streams while they are in its caches, and the update's rows stay on
  // the thread that wrote them. Otherwise each task takes a block of
  // columns and reads only its block of B, the larger operand.
  g.byRows = blocked && m > k && g.panels <= fit && g.fullTiles >= 2;
  if (g.byRows) {
    g.panelsPerBlock = g.panels;
    g.nBlocks = 1;
    g.nc = g.panels * g.nr;
    g.mBlocks = std::clamp<int64_t>(ceilDiv(kMinTasks, batches), 1, g.fullTiles / 2);
    g.tilesPerBlock = ceilDiv(g.fullTiles, g.mBlocks);
    g.mBlocks = ceilDiv(g.fullTiles, g.tilesPerBlock);
    g.packB = true;
  } else {
    planColumns(g, batches, fit);
  }
  // A is packed when many panels reuse it and reading it in place is poor:
  // transposed (each k of a tile on its own cache line), rows whose stride
  // is a multiple of 4 KiB (a tile's rows in the same L1 sets), or many
  // rows (too much to keep in cache between panels).
  bool poorInPlace = ta || (k * g.es) % 4096 == 0 || g.fullTiles >= kManyTiles;
  g.packA = blocked && g.panels >= kMinPanelsToPackA && g.fullTiles >= 2 && poorInPlace;
  return g;
}

/// The plan of a matmul op.
Gemm plan(const ir::Op &op, const Sizes &c, const std::vector<Sizes> &in, const Target &target) {
  size_t r = c.size();
  int64_t k = op.attrs.transposeA ? in[0][r - 2] : in[0][r - 1];
  return plan(product(Sizes(c.begin(), c.end() - 2)), c[r - 2], c[r - 1], k, op.attrs.transposeA,
              op.attrs.transposeB, false, op.result.type.dtype, target, true);
}

/// Emits the tiles of one block of one batch's C.
class TileEmitter {
public:
  TileEmitter(KernelBuilder &k, const Gemm &g) : k_(k), b_(k.b), g_(g) {
    vecType_ = llvm::FixedVectorType::get(k.typeOf(g.dt), unsigned(g.width));
    zero_ = llvm::Constant::getNullValue(vecType_);
  }

  /// The matrices of the batch, this task's space for a packed block of B
  /// (by rows: the batch's B packed for every row block) and the batch's
  /// packed A (null when the plan packs neither).
  void matrices(llvm::Value *a, llvm::Value *b, llvm::Value *c, llvm::Value *packedB,
                llvm::Value *packedA) {
    a_ = a;
    bm_ = b;
    c_ = c;
    packedB_ = packedB;
    packedA_ = packedA;
  }

  /// Work to do on each tile of rows once it is final: `epilogue` with its
  /// pointers as the task sees them, C of every batch at `wholeC`, this
  /// batch's first row (batch * M) at `firstRow`.
  void epilogue(const GemmEpilogue *epilogue, std::vector<llvm::Value *> pointers,
                llvm::Value *wholeC, llvm::Value *firstRow) {
    epilogue_ = epilogue;
    epiloguePointers_ = std::move(pointers);
    wholeC_ = wholeC;
    firstRow_ = firstRow;
  }

  /// Packs panel `panel` (run-time) of K block `kb` into the batch's B
  /// packed for every row block (at packedB_): `columns` of it are in B.
  void packSharedPanel(llvm::Value *kb, llvm::Value *panel, int64_t columns) {
    setKBlock(kb);
    llvm::Value *at =
        b_.CreateNSWMul(b_.CreateNSWAdd(b_.CreateNSWMul(kb, k_.i64(g_.panels)), panel),
                        k_.i64(g_.bPanelElements()));
    packPanel(b_.CreateNSWMul(panel, k_.i64(g_.nr)),
              b_.CreateInBoundsGEP(k_.typeOf(g_.dt), packedB_, at), columns);
  }

  /// Row block `mBlock` x column block `nBlock` (run-time indices) of C.
  void block(llvm::Value *mBlock, llvm::Value *nBlock) {
    llvm::Value *j0 = b_.CreateNSWMul(nBlock, k_.i64(g_.nc));
    // Full column blocks have panelsPerBlock panels; the last may have
    // fewer, and its last panel fewer than NR columns (the edge).
    int64_t lastFull = g_.n / g_.nr - (g_.nBlocks - 1) * g_.panelsPerBlock;
    isLastN_ = b_.CreateICmpEQ(nBlock, k_.i64(g_.nBlocks - 1));
    lastFull_ = lastFull;
    fullPanels_ = b_.CreateSelect(isLastN_, k_.i64(lastFull), k_.i64(g_.panelsPerBlock));
    // Likewise full row blocks have tilesPerBlock tiles; the edge rows
    // follow the last block's tiles.
    llvm::Value *i0 = b_.CreateNSWMul(mBlock, k_.i64(g_.tilesPerBlock * g_.mr));
    llvm::Value *isLastM = b_.CreateICmpEQ(mBlock, k_.i64(g_.mBlocks - 1));
    llvm::Value *tiles =
        b_.CreateSelect(isLastM, k_.i64(g_.fullTiles - (g_.mBlocks - 1) * g_.tilesPerBlock),
                        k_.i64(g_.tilesPerBlock));
    int64_t edgeRows = g_.m % g_.mr;
    k_.loop(
        0, g_.kBlocks,
        [&](llvm::Value *kb) {
          setKBlock(kb);
          if (g_.packB) {
            if (g_.byRows) // packed before the products (emitPackB), per K block
              packedBlock_ = b_.CreateInBoundsGEP(
                  k_.typeOf(g_.dt), packedB_,
                  b_.CreateNSWMul(kb, k_.i64(g_.panels * g_.bPanelElements())));
            else
              packB(j0);
          }
          // B read in place is prefetched ahead (kPrefetchStepsOfB).
          bool inPlaceB = !g_.packB;
          k_.loopBetween(
              k_.i64(0), tiles,
              [&](llvm::Value *t) {
                rowTile(b_.CreateNSWAdd(i0, b_.CreateNSWMul(t, k_.i64(g_.mr))), j0, g_.mr,
                        inPlaceB);
              },
              true);
          if (edgeRows > 0)
            k_.ifThen(isLastM,
                      [&] { rowTile(k_.i64(g_.fullTiles * g_.mr), j0, edgeRows, inPlaceB); });
        },
        true);
  }

private:
  /// Points aPanel_ at the packed A of the tile at row i0, when A is packed.
  void setAPanel(llvm::Value *i0) {
    if (g_.packA) {
      // The tile's packed panel of this K block (tiles are MR rows apart).
      llvm::Value *tile = b_.CreateSDiv(i0, k_.i64(g_.mr));
      llvm::Value *panel = b_.CreateNSWAdd(b_.CreateNSWMul(kb_, k_.i64(g_.rowTiles())), tile);
      aPanel_ = b_.CreateInBoundsGEP(k_.typeOf(g_.dt), packedA_,
                                     b_.CreateNSWMul(panel, k_.i64(g_.packedPanelElements())));
    }
  }
  /// `rows` rows from row i0 against every panel of the column block (with
  /// `prefetchB`, prefetching B ahead); then, once they are final, the
  /// epilogue on them.
  void rowTile(llvm::Value *i0, llvm::Value *j0, int64_t rows, bool prefetchB) {
    setAPanel(i0);
    int64_t edge = g_.n % g_.nr;
    k_.loopBetween(
        k_.i64(0), fullPanels_, [&](llvm::Value *p) { micro(i0, j0, p, rows, g_.nr, prefetchB); },
        true);
    if (edge > 0)
      k_.ifThen(isLastN_, [&] { micro(i0, j0, k_.i64(lastFull_), rows, edge, prefetchB); });
    if (epilogue_) {
      // The rows are final across the block of columns (all of C's, by
      // rows) after the last block of K: the epilogue on them.
      auto apply = [&] {
        llvm::Value *columns = b_.CreateNSWMul(fullPanels_, k_.i64(g_.nr));
        if (edge > 0)
          columns = b_.CreateSelect(isLastN_, k_.i64(g_.n - (g_.nBlocks - 1) * g_.nc), columns);
        epilogue_->emit(k_, epiloguePointers_, wholeC_, b_.CreateNSWAdd(firstRow_, i0), rows, j0,
                        b_.CreateNSWAdd(j0, columns));
      };
      if (g_.kBlocks == 1)
        apply();
      else
        k_.ifThen(b_.CreateICmpEQ(kb_, k_.i64(g_.kBlocks - 1)), apply);
    }
  }

  /// Where an operand's elements for step k of the micro-kernel are: from
  /// `start` (step 0), `step` elements further per k; A's row r of a step
  /// r rowOffset elements from it.
  struct Stream {
    llvm::Value *start;
    int64_t step, rowOffset;
  };

  /// A's rows i0.. (`rows` of them) over this K block: the packed panel, or
  /// A in place (rows K apart, k along a row; transposed, the other way).
  Stream aStream(llvm::Value *i0, int64_t rows) {
    if (g_.packA)
      return {aPanel_, rows, 1};
    llvm::Value *index = g_.ta ? b_.CreateNSWAdd(b_.CreateNSWMul(pc_, k_.i64(g_.m)), i0)
                               : b_.CreateNSWAdd(b_.CreateNSWMul(i0, k_.i64(g_.k)), pc_);
    llvm::Value *start = b_.CreateInBoundsGEP(k_.typeOf(g_.dt), a_, index);
    return g_.ta ? Stream{start, g_.m, 1} : Stream{start, 1, g_.k};
  }

  /// Panel p of B (columns j0 + p NR on) over this K block: the packed
  /// panel (KC rows of NR elements), or B in place (rows N apart).
  Stream bStream(llvm::Value *j0, llvm::Value *p) {
    if (g_.packB)
      return {b_.CreateInBoundsGEP(k_.typeOf(g_.dt), packedBlock_,
                                   b_.CreateNSWMul(p, k_.i64(g_.bPanelElements()))),
              g_.nr, 0};
    llvm::Value *column = b_.CreateNSWAdd(j0, b_.CreateNSWMul(p, k_.i64(g_.nr)));
    llvm::Value *index = b_.CreateNSWAdd(b_.CreateNSWMul(pc_, k_.i64(g_.n)), column);
    return {b_.CreateInBoundsGEP(k_.typeOf(g_.dt), bm_, index), g_.n, 0};
  }

  /// The address of the tile of C at rows i0.. and panel p; its vector v
  /// of row r is cVector(tile, r, v), a constant offset from it (one
  /// address per tile for LLVM's loop strength reduction, not one per row).
  llvm::Value *cTile(llvm::Value *i0, llvm::Value *j0, llvm::Value *p) {
    llvm::Value *column = b_.CreateNSWAdd(j0, b_.CreateNSWMul(p, k_.i64(g_.nr)));
    llvm::Value *index = b_.CreateNSWAdd(b_.CreateNSWMul(i0, k_.i64(g_.n)), column);
    return b_.CreateInBoundsGEP(k_.typeOf(g_.dt), c_, index);
  }
  llvm::Value *cVector(llvm::Value *tile, int64_t r, int64_t v) {
    return b_.CreateConstInBoundsGEP1_64(k_.typeOf(g_.dt), tile, uint64_t(r * g_.n + v * g_.width));
  }

  /// A mask of the first `lanes` lanes.
  llvm::Value *mask(int64_t lanes) {
    std::vector<llvm::Constant *> bits;
    for (int64_t l = 0; l < g_.width; ++l)
      bits.push_back(b_.getInt1(l < lanes));
    return llvm::ConstantVector::get(bits);
  }

  /// Loads (or, with `store`, stores) vector `value` at `ptr`, masked to
  /// `lanes` lanes when fewer than a whole vector.
  llvm::Value *vectorAt(llvm::Value *ptr, int64_t lanes, llvm::Value *value = nullptr) {
    llvm::Align align(size_t(g_.es));
    if (value) {
      if (lanes < g_.width)
        b_.CreateMaskedStore(value, ptr, align, mask(lanes));
      else
        b_.CreateAlignedStore(value, ptr, align);
      return nullptr;
    }
    if (lanes < g_.width)
      return b_.CreateMaskedLoad(vecType_, ptr, align, mask(lanes), zero_);
    return b_.CreateAlignedLoad(vecType_, ptr, align);
  }

  /// The tile of rows i0.. (mr of them) and columns of panel p (nr of
  /// them), over this K block: summed from zero, then added to C unless
  /// this is the first block of a product that does not accumulate (C is
  /// prefetched before the sum and read after it, so the multiply-adds
  /// never wait on C).
  void micro(llvm::Value *i0, llvm::Value *j0, llvm::Value *p, int64_t mr, int64_t nr,
             bool prefetchB) {
    int64_t vectors = ceilDiv(nr, g_.width), lastLanes = nr - (vectors - 1) * g_.width;
    auto lanesOf = [&](int64_t v) { return v == vectors - 1 ? lastLanes : g_.width; };
    llvm::Function *fn = b_.GetInsertBlock()->getParent();
    llvm::LLVMContext &ctx = b_.getContext();
    llvm::Value *c = cTile(i0, j0, p);
    bool addToC = g_.accumulate || g_.kBlocks > 1;
    if (addToC)
      // The tile is added to C after the loop: fetch C meanwhile.
      for (int64_t r = 0; r < mr; ++r)
        for (int64_t v = 0; v < vectors; ++v)
          b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {b_.getPtrTy()},
                             {cVector(c, r, v), b_.getInt32(1), b_.getInt32(3), b_.getInt32(1)});
    // Each operand is one pointer that steps along k, the rows and vectors
    // of a step at constant offsets from it: few induction variables, so
    // LLVM's loop strength reduction has little to search.
    Stream a = aStream(i0, mr), bs = bStream(j0, p);
    llvm::Type *element = k_.typeOf(g_.dt);
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *header = llvm::BasicBlock::Create(ctx, "k_loop", fn);
    auto *body = llvm::BasicBlock::Create(ctx, "k_body", fn);
    auto *exit = llvm::BasicBlock::Create(ctx, "k_exit", fn);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode *kk = b_.CreatePHI(b_.getInt64Ty(), 2, "k");
    kk->addIncoming(k_.i64(0), pre);
    llvm::PHINode *aAt = b_.CreatePHI(b_.getPtrTy(), 2, "a");
    aAt->addIncoming(a.start, pre);
    llvm::PHINode *bAt = b_.CreatePHI(b_.getPtrTy(), 2, "b");
    bAt->addIncoming(bs.start, pre);
    std::vector<llvm::PHINode *> acc;
    for (int64_t i = 0; i < mr * vectors; ++i) {
      acc.push_back(b_.CreatePHI(vecType_, 2, "acc"));
      acc.back()->addIncoming(zero_, pre);
    }
    b_.CreateCondBr(b_.CreateICmpSLT(kk, kcur_), body, exit);
    b_.SetInsertPoint(body);
    auto at = [&](llvm::Value *base, int64_t offset) {
      return offset ? b_.CreateConstInBoundsGEP1_64(element, base, uint64_t(offset)) : base;
    };
    std::vector<llvm::Value *> bv;
    for (int64_t v = 0; v < vectors; ++v)
      // A packed panel holds zeros beyond N: whole vectors can be loaded.
      bv.push_back(vectorAt(at(bAt, v * g_.width), g_.packB ? g_.width : lanesOf(v)));
    if (g_.packA)
      // The next tile's packed A, on its way to the cache while this tile
      // computes (past the last tile it is a harmless hint).
      b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {b_.getPtrTy()},
                         {b_.CreateConstGEP1_64(element, aAt, uint64_t(g_.packedPanelElements())),
                          b_.getInt32(0), b_.getInt32(3), b_.getInt32(1)});
    if (prefetchB)
      // B kPrefetchStepsOfB steps of k ahead, one line at a time, to L2.
      for (int64_t byte = 0; byte < vectors * g_.width * g_.es; byte += 64)
        b_.CreateIntrinsic(
            llvm::Intrinsic::prefetch, {b_.getPtrTy()},
            {b_.CreateConstGEP1_64(b_.getInt8Ty(), bAt,
                                   uint64_t(kPrefetchStepsOfB * bs.step * g_.es + byte)),
             b_.getInt32(0), b_.getInt32(2), b_.getInt32(1)});
    std::vector<llvm::Value *> next(acc.size());
    for (int64_t r = 0; r < mr; ++r) {
      llvm::Value *aValue = b_.CreateLoad(element, at(aAt, r * a.rowOffset));
      llvm::Value *splat = b_.CreateVectorSplat(unsigned(g_.width), aValue);
      for (int64_t v = 0; v < vectors; ++v)
        next[size_t(r * vectors + v)] = k_.intrinsic(
            llvm::Intrinsic::fma, {splat, bv[size_t(v)], acc[size_t(r * vectors + v)]});
    }
    llvm::BasicBlock *latch = b_.GetInsertBlock();
    kk->addIncoming(b_.CreateNSWAdd(kk, k_.i64(1)), latch);
    aAt->addIncoming(at(aAt, a.step), latch);
    bAt->addIncoming(at(bAt, bs.step), latch);
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i]->addIncoming(next[i], latch);
    // The tile is the unrolled part: copies of it would only cost compile time.
    k_.keepRolled(b_.CreateBr(header));
    b_.SetInsertPoint(exit);
    std::vector<llvm::Value *> tile(acc.begin(), acc.end());
    if (addToC) {
      // C + the tile, when C holds something to add to.
      auto *add = llvm::BasicBlock::Create(ctx, "c_add", fn);
      auto *joined = llvm::BasicBlock::Create(ctx, "c_ready", fn);
      b_.CreateCondBr(fromC_, add, joined);
      b_.SetInsertPoint(add);
      std::vector<llvm::Value *> sums;
      for (int64_t r = 0; r < mr; ++r)
        for (int64_t v = 0; v < vectors; ++v)
          sums.push_back(
              k_.add(vectorAt(cVector(c, r, v), lanesOf(v)), tile[size_t(r * vectors + v)]));
      b_.CreateBr(joined);
      b_.SetInsertPoint(joined);
      for (size_t i = 0; i < tile.size(); ++i) {
        llvm::PHINode *phi = b_.CreatePHI(vecType_, 2);
        phi->addIncoming(tile[i], exit);
        phi->addIncoming(sums[i], add);
        tile[i] = phi;
      }
    }
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t v = 0; v < vectors; ++v)
        vectorAt(cVector(c, r, v), lanesOf(v), tile[size_t(r * vectors + v)]);
  }

  /// Packs this K block of the task's column block of B: panel p holds,
  /// for each k of the block, the NR columns j0 + p NR ... (zero beyond N).
  void packB(llvm::Value *j0) {
    packedBlock_ = packedB_;
    auto panel = [&](llvm::Value *p, int64_t columns) {
      packPanel(b_.CreateNSWAdd(j0, b_.CreateNSWMul(p, k_.i64(g_.nr))),
                b_.CreateInBoundsGEP(k_.typeOf(g_.dt), packedB_,
                                     b_.CreateNSWMul(p, k_.i64(g_.bPanelElements()))),
                columns);
    };
    k_.loopBetween(
        k_.i64(0), fullPanels_, [&](llvm::Value *p) { panel(p, g_.nr); }, true);
    if (g_.n % g_.nr > 0)
      k_.ifThen(isLastN_, [&] { panel(k_.i64(lastFull_), g_.n % g_.nr); });
  }

  /// The K block the code emitted next works on: its start, its length,
  /// whether its tiles add to C.
  void setKBlock(llvm::Value *kb) {
    kb_ = kb;
    pc_ = b_.CreateNSWMul(kb, k_.i64(g_.kc));
    kcur_ = b_.CreateSelect(b_.CreateICmpEQ(kb, k_.i64(g_.kBlocks - 1)), k_.i64(g_.lastKc),
                            k_.i64(g_.kc));
    fromC_ = g_.accumulate ? b_.getTrue() : b_.CreateICmpSGT(kb, k_.i64(0));
  }

  /// Packs the columns first.. of op(B) (`columns` of them, NR places)
  /// over this K block into the panel at `to`: KC rows of NR elements.
  void packPanel(llvm::Value *first, llvm::Value *to, int64_t columns) {
    if (g_.tb) {
      // Column j of op(B) is row j of B, so a panel is the transpose of NR
      // rows of B (those past N read as zeros).
      llvm::Value *rows = b_.CreateNSWSub(k_.i64(g_.n), first); // of B left from `first`
      llvm::Value *source =
          b_.CreateGEP(k_.typeOf(g_.dt), bm_, b_.CreateAdd(b_.CreateMul(first, k_.i64(g_.k)), pc_));
      emitTranspose(k_, g_.dt, source, g_.k, g_.nr, rows, kcur_, to, g_.nr, true);
      return;
    }
    // Rows of B, NR columns at a time; the edge panel masked.
    k_.loopBetween(k_.i64(0), kcur_, [&](llvm::Value *kk) {
      llvm::Value *row = b_.CreateNSWMul(b_.CreateNSWAdd(pc_, kk), k_.i64(g_.n));
      for (int64_t v = 0; v < g_.nrVectors; ++v) {
        int64_t lanes = std::clamp<int64_t>(columns - v * g_.width, 0, g_.width);
        llvm::Value *value = zero_;
        if (lanes > 0)
          value = vectorAt(b_.CreateInBoundsGEP(
                               k_.typeOf(g_.dt), bm_,
                               b_.CreateNSWAdd(row, b_.CreateNSWAdd(first, k_.i64(v * g_.width)))),
                           lanes);
        llvm::Value *at = b_.CreateInBoundsGEP(
            k_.typeOf(g_.dt), to,
            b_.CreateNSWAdd(b_.CreateNSWMul(kk, k_.i64(g_.nr)), k_.i64(v * g_.width)));
        vectorAt(at, g_.width, value);
      }
    });
  }

  KernelBuilder &k_;
  llvm::IRBuilder<> &b_;
  const Gemm &g_;
  llvm::Value *a_ = nullptr, *bm_ = nullptr, *c_ = nullptr;
  llvm::Value *packedB_ = nullptr, *packedA_ = nullptr;
  /// This K block's packed panels of the task's block of B.
  llvm::Value *packedBlock_ = nullptr;
  llvm::Value *aPanel_ = nullptr; ///< the packed A of the tile being emitted
  const GemmEpilogue *epilogue_ = nullptr;
  std::vector<llvm::Value *> epiloguePointers_;
  llvm::Value *wholeC_ = nullptr, *firstRow_ = nullptr;
  llvm::Type *vecType_;
  llvm::Value *zero_;
  // The block being emitted: its last full panel's index, whether it is
  // the last column block, its count of full panels; the K block's start,
  // length, and whether the tiles start from C.
  int64_t lastFull_ = 0;
  llvm::Value *isLastN_ = nullptr, *fullPanels_ = nullptr;
  llvm::Value *kb_ = nullptr, *pc_ = nullptr, *kcur_ = nullptr, *fromC_ = nullptr;
};

/// Packs `rows` rows of op(A) from row i0 into panels, one per K block,
/// the panel of block b at panelAt(b): element (r, k) of the block at
/// k rows + r, so that the micro-kernel reads it in order. A stored by rows
/// is transposed a vector block at a time; a transposed A holds the rows
/// of one k side by side already. Stores are whole vectors (AVX2's masked
/// stores are slow on some CPUs): what spills past `rows` is overwritten by
/// the next k, or lands in the panel's spare room.
void packTileOfA(KernelBuilder &k, const Gemm &g, llvm::Value *a, llvm::Value *i0, int64_t rows,
                 const std::function<llvm::Value *(llvm::Value *)> &panelAt) {
  auto &b = k.b;
  llvm::Type *element = k.typeOf(g.dt);
  llvm::Type *vector = llvm::FixedVectorType::get(element, unsigned(g.width));
  llvm::Align align(size_t(g.es));
  k.loop(
      0, g.kBlocks,
      [&](llvm::Value *kb) {
        llvm::Value *pc = b.CreateNSWMul(kb, k.i64(g.kc));
        llvm::Value *kcur =
            b.CreateSelect(b.CreateICmpEQ(kb, k.i64(g.kBlocks - 1)), k.i64(g.lastKc), k.i64(g.kc));
        llvm::Value *to = panelAt(kb);
        if (!g.ta) {
          llvm::Value *source =
              b.CreateInBoundsGEP(element, a, b.CreateNSWAdd(b.CreateNSWMul(i0, k.i64(g.k)), pc));
          emitTranspose(k, g.dt, source, g.k, rows, k.i64(rows), kcur, to, rows, true);
          return;
        }
        k.loopBetween(k.i64(0), kcur, [&](llvm::Value *kk) {
          llvm::Value *from =
              b.CreateNSWAdd(b.CreateNSWMul(b.CreateNSWAdd(pc, kk), k.i64(g.m)), i0);
          llvm::Value *at = b.CreateNSWMul(kk, k.i64(rows));
          for (int64_t r = 0; r < rows; r += g.width) {
            llvm::Value *mask = k.lanesBelow(unsigned(g.width), k.i64(r), k.i64(rows));
            llvm::Value *v =
                b.CreateMaskedLoad(vector, k.maskedAddress(g.dt, a, b.CreateNSWAdd(from, k.i64(r))),
                                   align, mask, llvm::Constant::getNullValue(vector));
            b.CreateAlignedStore(v, b.CreateInBoundsGEP(element, to, b.CreateNSWAdd(at, k.i64(r))),
                                 align);
          }
        });
      },
      true);
}

/// Packs every row tile of A, for every batch, before the products: tasks
/// of kTilesPerPackTask tiles on the thread pool.
void emitPackA(KernelBuilder &k, const Gemm &g, llvm::Value *scratch) {
  int64_t tiles = g.rowTiles();
  int64_t perBatch = ceilDiv(g.fullTiles, kTilesPerPackTask);
  emitParallelFor(
      k, "pack_a", {k.in(0), scratch}, g.batches * perBatch,
      [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *task) {
        auto &b = t.b;
        llvm::Value *batch = b.CreateSDiv(task, t.i64(perBatch));
        llvm::Value *inBatch = b.CreateSRem(task, t.i64(perBatch));
        llvm::Value *first = b.CreateNSWMul(inBatch, t.i64(kTilesPerPackTask));
        llvm::Value *end = b.CreateSelect(
            b.CreateICmpSLT(b.CreateNSWAdd(first, t.i64(kTilesPerPackTask)), t.i64(g.fullTiles)),
            b.CreateNSWAdd(first, t.i64(kTilesPerPackTask)), t.i64(g.fullTiles));
        llvm::Type *element = t.typeOf(g.dt);
        llvm::Value *a =
            b.CreateInBoundsGEP(element, at[0], b.CreateNSWMul(batch, t.i64(g.m * g.k)));
        llvm::Value *packed =
            b.CreateInBoundsGEP(element, at[1], b.CreateNSWMul(batch, t.i64(g.packedAElements())));
        auto panels = [&](llvm::Value *tile) {
          return [&, tile](llvm::Value *kb) {
            llvm::Value *panel = b.CreateNSWAdd(b.CreateNSWMul(kb, t.i64(tiles)), tile);
            return b.CreateInBoundsGEP(element, packed,
                                       b.CreateNSWMul(panel, t.i64(g.packedPanelElements())));
          };
        };
        t.loopBetween(first, end, [&](llvm::Value *tile) {
          packTileOfA(t, g, a, b.CreateNSWMul(tile, t.i64(g.mr)), g.mr, panels(tile));
        });
        // The edge tile, with the batch's last task.
        if (g.m % g.mr)
          t.ifThen(b.CreateICmpEQ(inBatch, t.i64(perBatch - 1)), [&] {
            packTileOfA(t, g, a, t.i64(g.fullTiles * g.mr), g.m % g.mr, panels(t.i64(g.fullTiles)));
          });
      });
}

/// Where batch `batch`'s B packed for every row block starts in the scratch
/// space (after the packed A).
llvm::Value *sharedPackedB(KernelBuilder &t, const Gemm &g, llvm::Value *scratch,
                           llvm::Value *batch) {
  return t.b.CreateInBoundsGEP(
      t.typeOf(g.dt),
      t.b.CreateConstInBoundsGEP1_64(t.b.getInt8Ty(), scratch, uint64_t(g.packedABytes())),
      t.b.CreateNSWMul(batch, t.i64(g.sharedBElements())));
}

/// Packs B once for every row block of a product by rows, before the
/// products: one task per panel of each K block of each batch.
void emitPackB(KernelBuilder &k, const Gemm &g, llvm::Value *scratch) {
  int64_t perBatch = g.kBlocks * g.panels;
  emitParallelFor(k, "pack_b", {k.in(1), scratch}, g.batches * perBatch,
                  [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *task) {
                    auto &b = t.b;
                    llvm::Value *batch = b.CreateSDiv(task, t.i64(perBatch));
                    llvm::Value *inBatch = b.CreateSRem(task, t.i64(perBatch));
                    llvm::Value *kb = b.CreateSDiv(inBatch, t.i64(g.panels));
                    llvm::Value *panel = b.CreateSRem(inBatch, t.i64(g.panels));
                    TileEmitter tiles(t, g);
                    tiles.matrices(nullptr,
                                   b.CreateInBoundsGEP(t.typeOf(g.dt), at[0],
                                                       b.CreateNSWMul(batch, t.i64(g.k * g.n))),
                                   nullptr, sharedPackedB(t, g, at[1], batch), nullptr);
                    int64_t edge = g.n % g.nr;
                    if (edge == 0) {
                      tiles.packSharedPanel(kb, panel, g.nr);
                      return;
                    }
                    llvm::Value *isEdge = b.CreateICmpEQ(panel, t.i64(g.panels - 1));
                    t.ifThen(isEdge, [&] { tiles.packSharedPanel(kb, panel, edge); });
                    t.ifThen(b.CreateNot(isEdge), [&] { tiles.packSharedPanel(kb, panel, g.nr); });
                  });
}

} // namespace

bool useGemm(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in) {
  if (op.kind != ir::OpKind::MatMul || !isFloat(op.result.type.dtype) || out.size() < 2)
    return false;
  size_t r = out.size();
  int64_t k = op.attrs.transposeA ? in[0][r - 2] : in[0][r - 1];
  // Small products stay simple loops: the tiles would be mostly edge.
  return out[r - 2] * out[r - 1] * k >= 16384 && out[r - 1] >= 8;
}

size_t gemmScratchBytes(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in,
                        const Target &target) {
  if (!useGemm(op, out, in))
    return 0;
  Gemm g = plan(op, out, in, target);
  return size_t(g.scratchBytes());
}

GemmShape gemmShapeOf(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in,
                      const Target &target) {
  Gemm g = plan(op, out, in, target);
  return {g.mr, g.nr, g.kc, g.kBlocks, g.nc, g.nBlocks, g.mBlocks, g.packA, g.packB, g.byRows};
}

void emitGemm(KernelBuilder &k, const GemmEpilogue *epilogue) {
  Gemm g = plan(k.op, k.outShape, k.inShapes, k.target);
  llvm::Value *null = llvm::ConstantPointerNull::get(llvm::PointerType::get(k.b.getContext(), 0));
  llvm::Value *scratch = k.scratch() ? k.scratch() : null;
  if (g.packA)
    emitPackA(k, g, scratch);
  if (g.byRows)
    emitPackB(k, g, scratch);
  // One task per column block of each row block of each batch.
  std::vector<llvm::Value *> pointers = {k.in(0), k.in(1), k.out(), scratch};
  if (epilogue)
    pointers.insert(pointers.end(), epilogue->pointers.begin(), epilogue->pointers.end());
  emitParallelFor(k, "tasks", pointers, g.tasks(),
                  [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *task) {
                    auto &b = t.b;
                    int64_t perBatch = g.mBlocks * g.nBlocks;
                    llvm::Value *batch = b.CreateSDiv(task, t.i64(perBatch));
                    llvm::Value *rest = b.CreateSRem(task, t.i64(perBatch));
                    llvm::Value *mBlock = b.CreateSDiv(rest, t.i64(g.nBlocks));
                    llvm::Value *nBlock = b.CreateSRem(rest, t.i64(g.nBlocks));
                    llvm::Type *element = t.typeOf(g.dt);
                    auto matrix = [&](llvm::Value *base, int64_t size) {
                      return b.CreateInBoundsGEP(element, base, b.CreateNSWMul(batch, t.i64(size)));
                    };
                    llvm::Value *packedA = g.packA ? matrix(at[3], g.packedAElements()) : nullptr;
                    // B packed for this task, or by rows for the batch.
                    llvm::Value *packedB = nullptr;
                    if (g.byRows)
                      packedB = sharedPackedB(t, g, at[3], batch);
                    else if (g.packB)
                      packedB = b.CreateInBoundsGEP(
                          b.getInt8Ty(), at[3],
                          b.CreateNSWAdd(t.i64(g.packedABytes()),
                                         b.CreateNSWMul(task, t.i64(g.packedBBytes()))));
                    TileEmitter tiles(t, g);
                    tiles.matrices(matrix(at[0], g.m * g.k), matrix(at[1], g.k * g.n),
                                   matrix(at[2], g.m * g.n), packedB, packedA);
                    if (epilogue)
                      tiles.epilogue(epilogue, std::vector<llvm::Value *>(at.begin() + 4, at.end()),
                                     at[2], b.CreateNSWMul(batch, t.i64(g.m)));
                    tiles.block(mBlock, nBlock);
                  });
}

void emitMatrixProduct(KernelBuilder &k, const MatrixProduct &p, llvm::Value *a, llvm::Value *b,
                       llvm::Value *c) {
  Gemm g = plan(1, p.m, p.n, p.k, p.transposeA, false, p.accumulate, p.dtype, k.target, false);
  TileEmitter tiles(k, g);
  tiles.matrices(a, b, c, nullptr, nullptr);
  k.loop(
      0, g.nBlocks, [&](llvm::Value *block) { tiles.block(k.i64(0), block); }, true);
}

} // namespace nabla::codegen
