//===- FusedKernels.cpp - One kernel for a fusion group --------------------===//
//
// A group (ir/Groups.h) computes its shape row by row (a row is a run of the
// last axis of its iteration space, below). The anchor, when there is one,
// first computes its whole result with its own kernel (a tiled matmul is
// parallel itself). Then a loop over rows (codegen/Parallel.h) computes every
// other op of the group for each element, keeping values in registers, and
// stores the values the plan says leave the group. Large groups split their
// rows over the thread pool. A tiled matmul whose tasks own whole rows runs
// the rest of the group itself, on each tile of rows (GemmEpilogue).
// Stores come after every load of an element, so a value may overwrite an
// input it was computed from (in place).
//
//===----------------------------------------------------------------------===//
#include "codegen/FusedKernels.h"
#include "codegen/Kernels.h"
#include "codegen/Parallel.h"

#include "ir/Groups.h"

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Groups with fewer elements than this run on one thread.
constexpr int64_t kParallelElements = 32768;
/// Rows longer than this are split (when their length has a divisor near it).
constexpr int64_t kLongRow = 4096;

/// The loop nest a group runs over: its result shape with adjacent axes
/// merged wherever every broadcast in the group reads them as one axis (all
/// of them, for a group without broadcasts), and a very long last axis split
/// so that its rows can be shared among threads. Rows are runs of the last
/// axis; flat indices are those of the result.
struct IterationSpace {
  Sizes shape;
  /// Per broadcast op: its operand's stride along each axis of `shape`.
  std::unordered_map<const ir::Op *, Sizes> strides;
};

/// With `unmerged`, the result's own shape (rows are its last axis);
/// without `splitLongRows`, a long last axis stays whole.
IterationSpace iterationSpace(const GroupKernel &g, const MemoryPlan &plan, bool unmerged,
                              bool splitLongRows = true) {
  const Sizes &full = plan.of(&g.ops.back()->result).shape;
  // Each broadcast's strides over the result's axes: operand axes align at
  // the end, and a size-1 axis repeats (stride 0).
  std::unordered_map<const ir::Op *, Sizes> fullStrides;
  bool keepRows = false; // one_hot reads a label per row of the result
  for (const ir::Op *op : g.ops) {
    keepRows |= op->kind == OpKind::OneHot;
    if (op->kind != OpKind::Broadcast)
      continue;
    const Sizes &in = plan.of(op->operands[0]).shape;
    Sizes inStrides = stridesOf(in), strides(full.size(), 0);
    size_t lead = full.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d)
      strides[lead + d] = in[d] == 1 ? 0 : inStrides[d];
    fullStrides[op] = strides;
  }
  IterationSpace space;
  if (keepRows || unmerged || full.empty()) {
    space.shape = full;
    space.strides = fullStrides;
    return space;
  }
  for (size_t d = 0; d < full.size(); ++d) {
    bool merge = d > 0;
    for (const auto &[op, s] : fullStrides)
      merge = merge && space.strides[op].back() == s[d] * full[d];
    if (merge) {
      space.shape.back() *= full[d];
      for (const auto &[op, s] : fullStrides)
        space.strides[op].back() = s[d];
      continue;
    }
    space.shape.push_back(full[d]);
    for (const auto &[op, s] : fullStrides)
      space.strides[op].push_back(s[d]);
  }
  // A long last axis becomes rows of a divisor of its length.
  int64_t last = space.shape.back();
  if (splitLongRows && last > kLongRow)
    for (int64_t row = kLongRow; row >= kLongRow / 16; --row)
      if (last % row == 0) {
        space.shape.back() = last / row;
        space.shape.push_back(row);
        for (auto &[op, s] : space.strides) {
          int64_t t = s.back();
          s.back() = t * row;
          s.push_back(t);
        }
        break;
      }
  return space;
}

/// Per-row state of an op that reads outside the element it computes.
struct RowState {
  llvm::Value *base = nullptr;  ///< broadcast: the operand index of the row's first element
  int64_t lastStride = 0;       ///< broadcast: the operand stride along the last axis
  llvm::Value *label = nullptr; ///< one_hot: the row's label
};

/// Emits the element-wise part of a group for one row, in the row function.
class RowEmitter {
public:
  RowEmitter(KernelBuilder &k, const GroupKernel &g, const IterationSpace &space,
             std::unordered_map<const ir::Value *, llvm::Value *> buffers, llvm::Value *anchorRows)
      : k_(k), b_(k.b), g_(g), space_(space), buffers_(std::move(buffers)),
        anchorRows_(anchorRows) {
    shape_ = space.shape;
    n_ = shape_.empty() ? 1 : shape_.back();
    outer_ = Sizes(shape_.begin(), shape_.empty() ? shape_.end() : shape_.end() - 1);
    anchored_ = ir::canAnchorGroup(*g.ops.front());
  }

  /// Every element of row `row`.
  void row(llvm::Value *row) { span(row, k_.i64(0), k_.i64(n_)); }

  /// Elements [j0, j1) of row `row`.
  void span(llvm::Value *row, llvm::Value *j0, llvm::Value *j1) {
    // The row's indices along the outer axes.
    std::vector<llvm::Value *> index(outer_.size());
    llvm::Value *rest = row;
    for (size_t d = outer_.size(); d-- > 0;) {
      index[d] = b_.CreateURem(rest, k_.i64(outer_[d]));
      rest = b_.CreateUDiv(rest, k_.i64(outer_[d]));
    }
    std::unordered_map<const ir::Op *, RowState> state;
    for (size_t i = 0; i < g_.ops.size(); ++i) {
      const ir::Op &op = *g_.ops[i];
      if (op.kind == OpKind::Broadcast) {
        const Sizes &strides = space_.strides.at(&op);
        RowState s;
        s.base = k_.linear(index, Sizes(strides.begin(), strides.end() - 1));
        s.lastStride = strides.empty() ? 0 : strides.back();
        state[&op] = s;
      } else if (op.kind == OpKind::OneHot) {
        RowState s;
        s.label = k_.load(DType::I32, buffer(op.operands[0]), row);
        llvm::Value *bad =
            b_.CreateOr(b_.CreateICmpSLT(s.label, b_.getInt32(0)),
                        b_.CreateICmpSGE(s.label, b_.getInt32(int32_t(op.attrs.classes))));
        k_.ifThen(bad, [&] { k_.failAt(g_.opIndices[i], row, s.label); });
        state[&op] = s;
      }
    }
    k_.loopBetween(j0, j1, [&](llvm::Value *j) { element(row, j, state); });
  }

private:
  llvm::Value *buffer(const ir::Value *v) const { return buffers_.at(v); }

  void element(llvm::Value *row, llvm::Value *j,
               const std::unordered_map<const ir::Op *, RowState> &state) {
    llvm::Value *flat = b_.CreateNSWAdd(b_.CreateNSWMul(row, k_.i64(n_)), j);
    std::unordered_map<const ir::Value *, llvm::Value *> value;
    auto operand = [&](const ir::Value *v) {
      auto it = value.find(v);
      return it != value.end() ? it->second : k_.load(v->type.dtype, buffer(v), flat);
    };
    const ir::Op *first = g_.ops.front();
    for (const ir::Op *op : g_.ops) {
      DType dt = op->result.type.dtype;
      llvm::Value *x = nullptr;
      if (anchored_ && op == first) {
        x = k_.load(dt, anchorRows_, flat);
      } else if (op->kind == OpKind::Constant) {
        x = k_.constant(dt, op->attrs.value);
      } else if (op->kind == OpKind::DimSize) {
        x = k_.constant(dt, double(k_.sizeOf(op->attrs.dim)));
      } else if (op->kind == OpKind::Broadcast) {
        const RowState &s = state.at(op);
        llvm::Value *at = s.lastStride
                              ? b_.CreateNSWAdd(s.base, b_.CreateNSWMul(j, k_.i64(s.lastStride)))
                              : s.base;
        x = k_.load(dt, buffer(op->operands[0]), at);
      } else if (op->kind == OpKind::OneHot) {
        llvm::Value *hit = b_.CreateICmpEQ(state.at(op).label, b_.CreateTrunc(j, b_.getInt32Ty()));
        x = k_.toMask(hit, dt);
      } else {
        std::vector<llvm::Value *> xs;
        for (const ir::Value *v : op->operands)
          xs.push_back(operand(v));
        x = emitScalar(k_, *op, xs);
      }
      value[&op->result] = x;
    }
    for (const ir::Value *v : g_.stored)
      if (!(anchored_ && v == &first->result))
        k_.store(v->type.dtype, value.at(v), buffer(v), flat);
  }

  KernelBuilder &k_;
  llvm::IRBuilder<> &b_;
  const GroupKernel &g_;
  const IterationSpace &space_;
  std::unordered_map<const ir::Value *, llvm::Value *> buffers_;
  llvm::Value *anchorRows_;
  Sizes shape_, outer_;
  int64_t n_ = 1;
  bool anchored_ = false;
};

/// The group's buffers in the order its ops use them, each distinct
/// pointer once (so that none aliases another and loops vectorize without
/// run-time checks), leaving out `skip` (the anchor's result, which the
/// tiled product hands over itself).
struct GroupPointers {
  std::vector<llvm::Value *> pointers;
  std::vector<const ir::Value *> order; ///< values with a buffer, in op order
  std::vector<size_t> slotOf;           ///< per entry of `order`: its pointer's index
  std::vector<bool> isSkipped;          ///< per entry of `order`: its buffer is `skip`

  GroupPointers(const GroupKernel &g, llvm::Value *skip) {
    for (const ir::Op *op : g.ops) {
      auto note = [&](const ir::Value *v) {
        if (!g.buffers.count(v) || std::find(order.begin(), order.end(), v) != order.end())
          return;
        order.push_back(v);
        llvm::Value *p = g.buffers.at(v);
        isSkipped.push_back(p == skip);
        auto at = std::find(pointers.begin(), pointers.end(), p);
        slotOf.push_back(size_t(at - pointers.begin()));
        if (at == pointers.end() && p != skip)
          pointers.push_back(p);
      };
      for (const ir::Value *v : op->operands)
        note(v);
      note(&op->result);
    }
  }

  /// Each value's buffer, given the pointers as a function sees them and
  /// the skipped one there.
  std::unordered_map<const ir::Value *, llvm::Value *> buffers(const std::vector<llvm::Value *> &at,
                                                               llvm::Value *skipped) const {
    std::unordered_map<const ir::Value *, llvm::Value *> values;
    for (size_t i = 0; i < order.size(); ++i)
      values[order[i]] = isSkipped[i] ? skipped : at[slotOf[i]];
    return values;
  }
};

/// Whether the group's element-wise ops run on the row tiles of its
/// anchor's tiled product (GemmEpilogue): they cover exactly the product's
/// result, and the product's tasks own whole rows (one block of columns).
bool onRowTiles(const GroupKernel &g, const MemoryPlan &plan,
                const std::vector<Sizes> &anchorShapes, const Target &target) {
  const ir::Op &first = *g.ops.front();
  const Sizes &result = plan.of(&first.result).shape;
  return first.kind == OpKind::MatMul && useGemm(first, result, anchorShapes) &&
         plan.of(&g.ops.back()->result).shape == result &&
         gemmShapeOf(first, result, anchorShapes, target).nBlocks == 1;
}

} // namespace

void emitGroup(llvm::Function *fn, const GroupKernel &g, const MemoryPlan &plan,
               const ir::SymbolBindings &bindings, const Target &target) {
  const ir::Op &first = *g.ops.front();
  bool anchored = ir::canAnchorGroup(first);
  std::vector<Sizes> anchorShapes;
  for (const ir::Value *v : first.operands)
    anchorShapes.push_back(plan.of(v).shape);
  KernelBuilder k(fn, first, anchorShapes, plan.of(&first.result).shape, g.opIndices.front(),
                  bindings, target);
  auto &b = k.b;

  // The anchor's whole result first; or, for a tiled product by rows, each
  // of its tasks does the rest of the group on each tile of rows.
  llvm::Value *anchorRows = nullptr;
  if (anchored) {
    anchorRows = g.buffers.count(&first.result) ? g.buffers.at(&first.result)
                 : g.anchorRows
                     ? g.anchorRows
                     : b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), g.scratch, g.anchorRowsOffset);
    std::vector<llvm::Value *> ins;
    for (const ir::Value *v : first.operands)
      ins.push_back(g.buffers.at(v));
    k.setPointers(anchorRows, ins, g.scratch, g.status);
    if (onRowTiles(g, plan, anchorShapes, target)) {
      // A tile's rows are whole rows of C (one block of columns), one
      // contiguous run of it: a group whose operands all merge over C's
      // axes runs on that run at once, its length rows × N, not row by
      // row (rows of 10 in the update of a 256 × 10 weight would not
      // fill a vector).
      IterationSpace flat = iterationSpace(g, plan, false, false);
      bool runs = flat.shape.size() == 1;
      int64_t n = plan.of(&first.result).shape.back();
      IterationSpace space = runs ? flat : iterationSpace(g, plan, true);
      GroupPointers group(g, anchorRows);
      GemmEpilogue epilogue;
      epilogue.pointers = group.pointers;
      epilogue.pointers.push_back(g.status);
      epilogue.emit = [&](KernelBuilder &t, const std::vector<llvm::Value *> &at, llvm::Value *c,
                          llvm::Value *row, int64_t rows, llvm::Value *col, llvm::Value *colEnd) {
        t.setPointers(nullptr, {}, nullptr, at.back());
        RowEmitter tileRows(t, g, space, group.buffers(at, c), c);
        if (runs) {
          llvm::Value *begin = t.b.CreateNSWAdd(t.b.CreateNSWMul(row, t.i64(n)), col);
          llvm::Value *last = t.b.CreateNSWMul(t.b.CreateNSWAdd(row, t.i64(rows - 1)), t.i64(n));
          tileRows.span(t.i64(0), begin, t.b.CreateNSWAdd(last, colEnd));
          return;
        }
        t.loop(
            0, rows, [&](llvm::Value *r) { tileRows.span(t.b.CreateNSWAdd(row, r), col, colEnd); },
            true);
      };
      emitGemm(k, &epilogue);
      b.CreateRetVoid();
      return;
    }
    if (first.kind == OpKind::MatMul)
      emitMatMul(k);
    else if (first.kind == OpKind::Conv2d)
      emitConvolution(k);
    else
      emitNeural(k);
  }

  // The row loop takes the group's buffers, then the anchor's rows and the
  // status word; large groups share its rows among the threads.
  IterationSpace space = iterationSpace(g, plan, false);
  const Sizes &shape = space.shape;
  int64_t n = shape.empty() ? 1 : shape.back();
  int64_t total = product(shape);
  int64_t rows = n ? total / n : 0;
  GroupPointers group(g, nullptr);
  std::vector<llvm::Value *> pointers = group.pointers;
  size_t buffers = pointers.size();
  pointers.push_back(anchorRows ? anchorRows : llvm::ConstantPointerNull::get(b.getPtrTy()));
  pointers.push_back(g.status);
  bool parallel = total >= kParallelElements && rows >= 2;
  emitParallelFor(
      k, "rows", pointers, rows,
      [&](KernelBuilder &r, const std::vector<llvm::Value *> &at, llvm::Value *row) {
        r.setPointers(nullptr, {}, nullptr, at[buffers + 1]);
        RowEmitter(r, g, space, group.buffers(at, nullptr), at[buffers]).row(row);
      },
      parallel);
  b.CreateRetVoid();
}

} // namespace nabla::codegen
