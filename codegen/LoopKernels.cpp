#include "codegen/LoopKernels.h"
#include "codegen/ModuleEmitter.h"
#include "codegen/Parallel.h"
#include "ir/Loops.h"
#include "passes/BatchRows.h"
#include "runtime/Tensor.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <functional>

namespace nabla::codegen {

namespace {

size_t roundUp(size_t bytes) { return (bytes + 63) / 64 * 64; }

/// A tensor seen around the loop's axis: `outer` runs of `inner` elements at
/// each of `length` positions, consecutive positions `step` elements apart,
/// consecutive runs `stride` apart. A share of the rows (below) keeps the
/// strides of the whole tensor.
struct AxisSplit {
  int64_t outer = 1, length = 1, inner = 1;
  int64_t step = 1, stride = 1;
  size_t elementBytes = 4;
  /// Elements between the first rows of consecutive shares.
  int64_t shareOffset = 0;
  /// Bytes of one slice.
  size_t sliceBytes() const { return size_t(outer * inner) * elementBytes; }
  /// Whether the body can take a slice in place: one contiguous run, at
  /// every position and in every share as aligned as every buffer a kernel
  /// takes (64 bytes).
  bool inPlace() const {
    return outer == 1 && size_t(step) * elementBytes % 64 == 0 &&
           size_t(shareOffset) * elementBytes % 64 == 0;
  }
};

AxisSplit splitAt(const std::vector<int64_t> &shape, int64_t axis, DType dtype) {
  AxisSplit s;
  s.elementBytes = dtypeSize(dtype);
  for (int64_t d = 0; d < int64_t(shape.size()); ++d)
    (d < axis ? s.outer : d == axis ? s.length : s.inner) *= shape[size_t(d)];
  s.step = s.inner;
  s.stride = s.length * s.inner;
  return s;
}

/// The share of `rows` of the `total` rows (the first axis of a tensor
/// whose loop axis comes after it; `timeMajor`: the second, after the loop
/// axis).
AxisSplit shareOf(AxisSplit s, bool timeMajor, int64_t rows, int64_t total) {
  if (timeMajor) {
    s.inner = s.inner / total * rows;
    s.shareOffset = s.inner;
  } else {
    s.outer = s.outer / total * rows;
    s.shareOffset = s.outer * s.stride;
  }
  return s;
}

/// The loop's tensors around its axis, whole or as one share of the rows.
struct Splits {
  AxisSplit xs, hs, states; ///< hs: a scan's part 0, or a scan_grad's g
  std::vector<AxisSplit> residuals;
  int64_t initRow = 0;   ///< elements per row of init
  size_t stateBytes = 0; ///< one share's state
  std::vector<size_t> accBytes;
};

/// Where each share keeps what: offsets into its part of the scratch space.
struct ScratchLayout {
  int64_t tasks = 1, rows = 0; ///< shares of the rows, and rows per share
  std::optional<std::string> rowSymbol;
  ir::SymbolBindings bindings; ///< of the body: the rows of one share
  std::optional<MemoryPlan> body;
  Splits whole, share;
  size_t arena = 0, x = 0, prev = 0, gh = 0, dx = 0, h = 0;
  size_t state[2] = {0, 0}, carry[2] = {0, 0};
  std::vector<std::array<size_t, 2>> acc; ///< per accumulated extra
  std::vector<size_t> residual;
  size_t taskBytes = 0; ///< one share's part
  size_t bytes() const { return size_t(tasks) * taskBytes; }
};

/// How many shares of the rows the loop runs in: the most that divide them
/// evenly into shares of 48 rows or more (a share's matmuls keep their
/// efficiency), so that the results do not depend on the host or the
/// threads; 1 when the body mixes the rows (passes/BatchRows.h).
int64_t sharesOf(int64_t rows) {
  for (int64_t k = std::min<int64_t>(rows / 48, 64); k > 1; --k)
    if (rows % k == 0)
      return k;
  return 1;
}

std::optional<ScratchLayout> layoutOf(const ir::Op &op,
                                      const std::vector<std::vector<int64_t>> &shapes,
                                      const ir::SymbolBindings &bindings, const Target &target,
                                      std::string &error) {
  ScratchLayout l;
  l.bindings = bindings;
  int64_t total = shapes[0].empty() ? 1 : shapes[0][0];
  l.rowSymbol = passes::loopRows(op);
  if (l.rowSymbol)
    l.tasks = sharesOf(total);
  l.rows = total / l.tasks;
  if (l.tasks > 1)
    l.bindings[*l.rowSymbol] = l.rows;
  l.body = MemoryPlan::plan(*op.attrs.body, l.bindings, target, error);
  if (!l.body)
    return std::nullopt;

  int64_t axis = op.attrs.axis;
  DType dt = op.operands[0]->type.dtype;
  Splits &w = l.whole;
  w.xs = splitAt(shapes[1], axis, op.operands[1]->type.dtype);
  int64_t steps = w.xs.length;
  std::vector<int64_t> stacked = shapes[0], timeMajor = shapes[0];
  stacked.insert(stacked.begin() + axis, steps);
  timeMajor.insert(timeMajor.begin(), steps);
  w.hs = splitAt(stacked, axis, dt);
  w.states = splitAt(timeMajor, 0, dt);
  size_t extras = ir::loopExtraCount(op);
  ir::ScanGradLayout g;
  if (op.kind == ir::OpKind::Scan) {
    const ir::Function &body = *op.attrs.body;
    for (size_t p = 1; p < body.results.size(); ++p) {
      const ir::Value *r = body.results[p].value;
      std::vector<int64_t> shape = l.body->of(r).shape;
      if (l.tasks > 1 && !shape.empty())
        shape[0] = total; // the body's share; the stack holds every row
      shape.insert(shape.begin(), steps);
      w.residuals.push_back(splitAt(shape, 0, r->type.dtype));
    }
  } else {
    g = ir::scanGradLayout(op);
    for (size_t i = 0; i < g.residuals; ++i)
      w.residuals.push_back(
          splitAt(shapes[4 + extras + i], 0, op.operands[4 + extras + i]->type.dtype));
    for (size_t j : g.accs) {
      size_t bytes = dtypeSize(op.operands[2 + j]->type.dtype);
      for (int64_t d : shapes[2 + j])
        bytes *= size_t(d);
      w.accBytes.push_back(bytes);
    }
  }
  w.initRow = total ? int64_t(w.states.inner) / total : 0;
  w.stateBytes = w.states.sliceBytes();

  Splits &s = l.share;
  s = w;
  if (l.tasks > 1) {
    s.xs = shareOf(w.xs, false, l.rows, total);
    s.hs = shareOf(w.hs, false, l.rows, total);
    s.states = shareOf(w.states, true, l.rows, total);
    for (AxisSplit &r : s.residuals)
      r = shareOf(r, true, l.rows, total);
    s.stateBytes = s.states.sliceBytes();
  }

  size_t next = 0;
  auto take = [&](size_t bytes) {
    size_t at = next;
    next += roundUp(bytes);
    return at;
  };
  l.arena = take(l.body->arenaBytes());
  l.x = take(s.xs.sliceBytes());
  if (op.kind == ir::OpKind::Scan) {
    l.state[0] = take(s.stateBytes);
    l.state[1] = take(s.stateBytes);
  } else {
    l.h = take(s.stateBytes);
    l.prev = take(s.stateBytes);
    l.gh = take(s.stateBytes);
    l.carry[0] = take(s.stateBytes);
    l.carry[1] = take(s.stateBytes);
    if (g.xs)
      l.dx = take(s.xs.sliceBytes());
    for (size_t bytes : w.accBytes)
      l.acc.push_back({take(bytes), take(bytes)});
  }
  for (const AxisSplit &r : s.residuals)
    l.residual.push_back(take(r.sliceBytes()));
  l.taskBytes = roundUp(next);
  return l;
}

/// One share's view of the loop's buffers.
struct Share {
  std::unordered_map<const ir::Value *, llvm::Value *> buffers; ///< of its rows
  llvm::Value *scratch = nullptr;                               ///< its part
};

/// The loop kernel's code, built in one function (and, when the rows are
/// shared among threads, a task function).
class LoopEmitter {
public:
  LoopEmitter(llvm::Function *fn, const LoopKernel &loop, const MemoryPlan &plan,
              const ir::SymbolBindings &bindings, const Target &target)
      : fn_(fn), loop_(loop), plan_(plan), bindings_(bindings), target_(target),
        ctx_(fn->getContext()), b_(llvm::BasicBlock::Create(ctx_, "entry", fn)) {}

  void emit();

private:
  llvm::Value *bytesAt(llvm::Value *base, llvm::Value *offset) {
    return b_.CreateGEP(b_.getInt8Ty(), base, offset);
  }
  llvm::Value *bytesAt(llvm::Value *base, size_t offset) {
    return b_.CreateConstGEP1_64(b_.getInt8Ty(), base, offset);
  }
  llvm::Value *i64(int64_t v) { return b_.getInt64(uint64_t(v)); }
  /// Emits `body(i)` for i = 0 .. count-1 (count > 0).
  void forEach(int64_t count, const std::function<void(llvm::Value *)> &body);
  /// Slice `t` of `tensor` (split `s`): in place when it can be, else
  /// copied into `buffer`.
  llvm::Value *readSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t,
                         llvm::Value *buffer);
  /// Copies `slice` into position `t` of `tensor`.
  void writeSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t, llvm::Value *slice);
  /// Position `t` of `tensor` when a slice is in place.
  llvm::Value *slot(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t) {
    return bytesAt(tensor, b_.CreateMul(t, i64(s.step * int64_t(s.elementBytes))));
  }
  /// The body's entry, emitted into this module.
  llvm::Function *emitBody(const ScratchLayout &l);
  /// An array of `count` pointers on the stack of the function being built.
  llvm::Value *pointerArray(size_t count) {
    llvm::IRBuilder<> entry(&b_.GetInsertBlock()->getParent()->getEntryBlock(),
                            b_.GetInsertBlock()->getParent()->getEntryBlock().begin());
    return entry.CreateAlloca(llvm::ArrayType::get(b_.getPtrTy(), count));
  }
  void store(llvm::Value *array, size_t i, llvm::Value *pointer) {
    b_.CreateStore(pointer, b_.CreateConstGEP1_64(b_.getPtrTy(), array, i));
  }
  /// Share `task`'s view: its rows of each row-wise buffer, its scratch.
  Share shareView(const ScratchLayout &l, const std::vector<llvm::Value *> &pointers,
                  llvm::Value *scratch, llvm::Value *task);
  /// The loop over the steps for one share.
  void emitScan(const ScratchLayout &l, llvm::Function *body, const Share &share);
  void emitScanGrad(const ScratchLayout &l, llvm::Function *body, const Share &share);
  /// After the shares: each accumulated gradient, the sum of the shares'.
  void sumAccumulators(const ScratchLayout &l);

  /// Every buffer the kernel has, in a fixed order (what a task receives).
  std::vector<const ir::Value *> bufferOrder() const;

  llvm::Function *fn_;
  const LoopKernel &loop_;
  const MemoryPlan &plan_;
  const ir::SymbolBindings &bindings_;
  const Target &target_;
  llvm::LLVMContext &ctx_;
  llvm::IRBuilder<> b_;
};

void LoopEmitter::forEach(int64_t count, const std::function<void(llvm::Value *)> &body) {
  llvm::BasicBlock *before = b_.GetInsertBlock();
  llvm::Function *fn = before->getParent();
  auto *head = llvm::BasicBlock::Create(ctx_, "loop", fn);
  auto *after = llvm::BasicBlock::Create(ctx_, "loop.end", fn);
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::PHINode *i = b_.CreatePHI(b_.getInt64Ty(), 2);
  i->addIncoming(i64(0), before);
  body(i);
  llvm::Value *next = b_.CreateAdd(i, i64(1));
  i->addIncoming(next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpULT(next, i64(count)), head, after);
  b_.SetInsertPoint(after);
}

llvm::Value *LoopEmitter::readSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t,
                                    llvm::Value *buffer) {
  if (s.inPlace())
    return slot(tensor, s, t);
  size_t run = size_t(s.inner) * s.elementBytes;
  int64_t es = int64_t(s.elementBytes);
  forEach(s.outer, [&](llvm::Value *o) {
    llvm::Value *from =
        b_.CreateAdd(b_.CreateMul(o, i64(s.stride * es)), b_.CreateMul(t, i64(s.step * es)));
    b_.CreateMemCpy(bytesAt(buffer, b_.CreateMul(o, i64(int64_t(run)))), llvm::MaybeAlign(),
                    bytesAt(tensor, from), llvm::MaybeAlign(), run);
  });
  return buffer;
}

void LoopEmitter::writeSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t,
                             llvm::Value *slice) {
  size_t run = size_t(s.inner) * s.elementBytes;
  int64_t es = int64_t(s.elementBytes);
  forEach(s.outer, [&](llvm::Value *o) {
    llvm::Value *to =
        b_.CreateAdd(b_.CreateMul(o, i64(s.stride * es)), b_.CreateMul(t, i64(s.step * es)));
    b_.CreateMemCpy(bytesAt(tensor, to), llvm::MaybeAlign(),
                    bytesAt(slice, b_.CreateMul(o, i64(int64_t(run)))), llvm::MaybeAlign(), run);
  });
}

llvm::Function *LoopEmitter::emitBody(const ScratchLayout &l) {
  llvm::Module *m = fn_->getParent();
  std::string entryName = loop_.prefix + "body";
  // Run in shares on the thread pool, the body's kernels keep to their
  // thread.
  Target target = target_;
  target.serial = l.tasks > 1;
  emitModules(*loop_.ops[0]->attrs.body, *l.body, l.bindings, target, {m}, loop_.prefix + "body_",
              entryName, nullptr, nullptr);
  llvm::Function *entry = m->getFunction(entryName);
  entry->setLinkage(llvm::GlobalValue::InternalLinkage);
  return entry;
}

std::vector<const ir::Value *> LoopEmitter::bufferOrder() const {
  std::vector<const ir::Value *> order(loop_.ops[0]->operands.begin(),
                                       loop_.ops[0]->operands.end());
  for (const ir::Op *op : loop_.ops)
    order.push_back(&op->result);
  return order;
}

Share LoopEmitter::shareView(const ScratchLayout &l, const std::vector<llvm::Value *> &pointers,
                             llvm::Value *scratch, llvm::Value *task) {
  const ir::Op &op = *loop_.ops[0];
  std::vector<const ir::Value *> order = bufferOrder();
  Share share;
  share.scratch = bytesAt(scratch, b_.CreateMul(task, i64(int64_t(l.taskBytes))));
  size_t extras = ir::loopExtraCount(op);
  // Which buffers hold rows, and how many bytes apart the shares' first
  // rows are: init and d init by rows, the others by their splits.
  const Splits &s = l.share;
  auto apart = [](const AxisSplit &split) {
    return split.shareOffset * int64_t(split.elementBytes);
  };
  int64_t initApart = s.initRow * l.rows * int64_t(s.states.elementBytes);
  auto offsetOf = [&](const ir::Value *v) -> std::optional<int64_t> {
    if (v == op.operands[0])
      return initApart;
    if (v == op.operands[1])
      return apart(s.xs);
    if (op.kind == ir::OpKind::ScanGrad) {
      if (v == op.operands[2 + extras])
        return apart(s.states);
      if (v == op.operands[3 + extras])
        return apart(s.hs);
      for (size_t i = 0; i < s.residuals.size(); ++i)
        if (v == op.operands[4 + extras + i])
          return apart(s.residuals[i]);
    }
    for (const ir::Op *part : loop_.ops) {
      if (v != &part->result)
        continue;
      int64_t p = part->attrs.part;
      if (op.kind == ir::OpKind::Scan)
        return apart(p == 0 ? s.hs : p == -1 ? s.states : s.residuals[size_t(p - 1)]);
      if (p <= 1)
        return p == 0 ? initApart : apart(s.xs);
    }
    return std::nullopt; // the same for every share
  };
  for (size_t i = 0; i < order.size(); ++i) {
    std::optional<int64_t> offset = l.tasks > 1 ? offsetOf(order[i]) : std::nullopt;
    share.buffers[order[i]] =
        offset ? bytesAt(pointers[i], b_.CreateMul(task, i64(*offset))) : pointers[i];
  }
  return share;
}

void LoopEmitter::emitScan(const ScratchLayout &l, llvm::Function *body, const Share &share) {
  const ir::Op &op = *loop_.ops[0];
  const Splits &s = l.share;
  llvm::Value *scratch = share.scratch;
  llvm::Value *init = share.buffers.at(op.operands[0]), *xs = share.buffers.at(op.operands[1]);
  // The parts this kernel stores: the states (0), residuals (1 on), the
  // states time-major (-1).
  std::unordered_map<int64_t, llvm::Value *> stored;
  for (const ir::Op *part : loop_.ops)
    stored[part->attrs.part] = share.buffers.at(&part->result);
  // The body writes the state in place into hs or the time-major states
  // when it can, else into two buffers in turn; the others get a copy.
  struct Home {
    llvm::Value *tensor = nullptr;
    const AxisSplit *split = nullptr;
  };
  std::vector<Home> homes;
  for (auto [part, split] : {std::pair{int64_t(0), &s.hs}, std::pair{int64_t(-1), &s.states}})
    if (auto found = stored.find(part); found != stored.end())
      homes.push_back({found->second, split});
  auto home =
      std::find_if(homes.begin(), homes.end(), [](const Home &h) { return h.split->inPlace(); });
  size_t extras = ir::loopExtraCount(op);
  llvm::Value *args = pointerArray(2 + extras), *results = pointerArray(1 + s.residuals.size());
  for (size_t j = 0; j < extras; ++j)
    store(args, 2 + j, share.buffers.at(op.operands[2 + j]));
  int64_t steps = s.xs.length;
  llvm::Value *buffers[2] = {bytesAt(scratch, l.state[0]), bytesAt(scratch, l.state[1])};
  forEach(steps, [&](llvm::Value *visit) {
    llvm::Value *t = op.attrs.reverse ? b_.CreateSub(i64(steps - 1), visit) : visit;
    llvm::Value *first = b_.CreateICmpEQ(visit, i64(0));
    llvm::Value *h, *prev;
    if (home != homes.end()) {
      h = slot(home->tensor, *home->split, t);
      llvm::Value *before = op.attrs.reverse ? b_.CreateAdd(t, i64(1)) : b_.CreateSub(t, i64(1));
      prev = b_.CreateSelect(first, init, slot(home->tensor, *home->split, before));
    } else {
      llvm::Value *odd = b_.CreateTrunc(visit, b_.getInt1Ty());
      h = b_.CreateSelect(odd, buffers[1], buffers[0]);
      prev = b_.CreateSelect(first, init, b_.CreateSelect(odd, buffers[0], buffers[1]));
    }
    store(args, 0, prev);
    store(args, 1, readSlice(xs, s.xs, t, bytesAt(scratch, l.x)));
    store(results, 0, h);
    std::vector<llvm::Value *> residuals;
    for (size_t i = 0; i < s.residuals.size(); ++i) {
      auto part = stored.find(int64_t(i + 1));
      bool inPlace = part != stored.end() && s.residuals[i].inPlace();
      residuals.push_back(inPlace ? slot(part->second, s.residuals[i], t)
                                  : bytesAt(scratch, l.residual[i]));
      store(results, 1 + i, residuals.back());
    }
    b_.CreateCall(body, {args, results, bytesAt(scratch, l.arena)});
    for (auto other = homes.begin(); other != homes.end(); ++other)
      if (other != home)
        writeSlice(other->tensor, *other->split, t, h);
    for (size_t i = 0; i < s.residuals.size(); ++i)
      if (auto part = stored.find(int64_t(i + 1));
          part != stored.end() && !s.residuals[i].inPlace())
        writeSlice(part->second, s.residuals[i], t, residuals[i]);
  });
}

void LoopEmitter::emitScanGrad(const ScratchLayout &l, llvm::Function *body, const Share &share) {
  const ir::Op &op = *loop_.ops[0];
  const Splits &s = l.share;
  size_t extras = ir::loopExtraCount(op);
  ir::ScanGradLayout g = ir::scanGradLayout(op);
  llvm::Value *scratch = share.scratch;
  auto operand = [&](size_t i) { return share.buffers.at(op.operands[i]); };
  llvm::Value *init = operand(0), *xs = operand(1), *states = operand(2 + extras),
              *grad = operand(3 + extras);
  std::unordered_map<int64_t, llvm::Value *> stored;
  for (const ir::Op *part : loop_.ops)
    stored[part->attrs.part] = share.buffers.at(&part->result);

  llvm::Value *args = pointerArray(g.residualArg(g.residuals));
  llvm::Value *results = pointerArray(1 + (g.xs ? 1 : 0) + g.accs.size());
  for (size_t j = 0; j < extras; ++j)
    store(args, 2 + j, operand(2 + j));
  llvm::Value *carry[2] = {bytesAt(scratch, l.carry[0]), bytesAt(scratch, l.carry[1])};
  b_.CreateMemSet(carry[0], b_.getInt8(0), s.stateBytes, llvm::MaybeAlign());
  for (size_t i = 0; i < g.accs.size(); ++i)
    b_.CreateMemSet(bytesAt(scratch, l.acc[i][0]), b_.getInt8(0), s.accBytes[i],
                    llvm::MaybeAlign());
  int64_t steps = s.xs.length;
  forEach(steps, [&](llvm::Value *u) {
    // Visits from the last to the first: visit v = T-1-u is at position t.
    llvm::Value *visit = b_.CreateSub(i64(steps - 1), u);
    llvm::Value *t = op.attrs.reverse ? u : visit;
    llvm::Value *first = b_.CreateICmpEQ(visit, i64(0));
    // prev: the state of the visit before (init at the first).
    llvm::Value *before = op.attrs.reverse ? b_.CreateAdd(t, i64(1)) : b_.CreateSub(t, i64(1));
    before = b_.CreateSelect(first, t, before); // any position: init is taken there
    llvm::Value *prev = readSlice(states, s.states, before, bytesAt(scratch, l.prev));
    store(args, 0, b_.CreateSelect(first, init, prev));
    store(args, 1, readSlice(xs, s.xs, t, bytesAt(scratch, l.x)));
    store(args, g.gh(), readSlice(grad, s.hs, t, bytesAt(scratch, l.gh)));
    store(args, g.state(), readSlice(states, s.states, t, bytesAt(scratch, l.h)));
    for (size_t i = 0; i < g.residuals; ++i)
      store(args, g.residualArg(i),
            readSlice(operand(4 + extras + i), s.residuals[i], t, bytesAt(scratch, l.residual[i])));
    llvm::Value *odd = b_.CreateTrunc(u, b_.getInt1Ty());
    store(args, g.carry(), b_.CreateSelect(odd, carry[1], carry[0]));
    store(results, 0, b_.CreateSelect(odd, carry[0], carry[1]));
    llvm::Value *dx = nullptr;
    if (g.xs) {
      auto whole = stored.find(1);
      dx = whole != stored.end() && s.xs.inPlace() ? slot(whole->second, s.xs, t)
                                                   : bytesAt(scratch, l.dx);
      store(results, g.dxResult(), dx);
    }
    for (size_t i = 0; i < g.accs.size(); ++i) {
      llvm::Value *a0 = bytesAt(scratch, l.acc[i][0]), *a1 = bytesAt(scratch, l.acc[i][1]);
      store(args, g.accArg(i), b_.CreateSelect(odd, a1, a0));
      store(results, g.accResult(i), b_.CreateSelect(odd, a0, a1));
    }
    b_.CreateCall(body, {args, results, bytesAt(scratch, l.arena)});
    if (auto whole = stored.find(1); whole != stored.end() && !s.xs.inPlace())
      writeSlice(whole->second, s.xs, t, dx);
  });
  // After T visits the last carry is in buffer T mod 2: d init, this share's rows.
  if (auto part = stored.find(0); part != stored.end())
    b_.CreateMemCpy(part->second, llvm::MaybeAlign(), carry[steps % 2], llvm::MaybeAlign(),
                    s.stateBytes);
}

void LoopEmitter::sumAccumulators(const ScratchLayout &l) {
  const ir::Op &op = *loop_.ops[0];
  ir::ScanGradLayout g = ir::scanGradLayout(op);
  size_t last = size_t(l.share.xs.length % 2);
  llvm::Value *scratch = loop_.scratch;
  for (size_t i = 0; i < g.accs.size(); ++i) {
    const ir::Op *part = nullptr;
    for (const ir::Op *p : loop_.ops)
      if (p->attrs.part == int64_t(2 + g.accs[i]))
        part = p;
    if (!part)
      continue;
    llvm::Value *result = loop_.buffers.at(&part->result);
    auto shareSum = [&](int64_t task) {
      return bytesAt(scratch, size_t(task) * l.taskBytes + l.acc[i][last]);
    };
    size_t bytes = l.share.accBytes[i];
    b_.CreateMemCpy(result, llvm::MaybeAlign(64), shareSum(0), llvm::MaybeAlign(64), bytes);
    // The shares' sums added in share order, whatever the threads.
    DType dt = part->result.type.dtype;
    llvm::Type *element = dt == DType::F64 ? b_.getDoubleTy() : b_.getFloatTy();
    for (int64_t task = 1; task < l.tasks; ++task) {
      llvm::Value *from = shareSum(task);
      forEach(int64_t(bytes / dtypeSize(dt)), [&](llvm::Value *e) {
        llvm::Value *to = b_.CreateGEP(element, result, e);
        llvm::Value *sum = b_.CreateFAdd(b_.CreateLoad(element, to),
                                         b_.CreateLoad(element, b_.CreateGEP(element, from, e)));
        b_.CreateStore(sum, to);
      });
    }
  }
}

void LoopEmitter::emit() {
  const ir::Op &op = *loop_.ops[0];
  std::vector<std::vector<int64_t>> shapes;
  for (const ir::Value *v : op.operands)
    shapes.push_back(plan_.of(v).shape);
  std::string error;
  // The memory plan made the same layout already.
  std::optional<ScratchLayout> l = layoutOf(op, shapes, bindings_, target_, error);
  if (!l || l->share.xs.length == 0) {
    b_.CreateRetVoid();
    return;
  }
  llvm::Function *body = emitBody(*l);
  std::vector<const ir::Value *> order = bufferOrder();
  auto runShare = [&](const std::vector<llvm::Value *> &pointers, llvm::Value *scratch,
                      llvm::Value *task) {
    Share share = shareView(*l, pointers, scratch, task);
    if (op.kind == ir::OpKind::Scan)
      emitScan(*l, body, share);
    else
      emitScanGrad(*l, body, share);
  };
  std::vector<llvm::Value *> pointers;
  for (const ir::Value *v : order)
    pointers.push_back(loop_.buffers.at(v));
  if (l->tasks == 1) {
    runShare(pointers, loop_.scratch, i64(0));
  } else {
    // A task function that runs the shares [begin, end), each the whole loop
    // on its rows, called through the thread pool.
    llvm::Type *ptr = b_.getPtrTy();
    llvm::Function *taskFn = helperFunction(
        fn_,
        llvm::FunctionType::get(b_.getVoidTy(), {ptr, b_.getInt64Ty(), b_.getInt64Ty()}, false),
        fn_->getName() + "_shares");
    std::vector<llvm::Value *> context = pointers;
    context.push_back(loop_.scratch);
    llvm::IRBuilderBase::InsertPoint kernelPoint = b_.saveIP();

    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", taskFn));
    std::vector<llvm::Value *> taskPointers;
    for (size_t i = 0; i < context.size(); ++i)
      taskPointers.push_back(b_.CreateLoad(ptr, b_.CreateConstGEP1_64(ptr, taskFn->getArg(0), i)));
    llvm::Value *scratch = taskPointers.back();
    taskPointers.pop_back();
    llvm::BasicBlock *before = b_.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(ctx_, "share", taskFn);
    auto *done = llvm::BasicBlock::Create(ctx_, "shares.end", taskFn);
    b_.CreateCondBr(b_.CreateICmpULT(taskFn->getArg(1), taskFn->getArg(2)), head, done);
    b_.SetInsertPoint(head);
    llvm::PHINode *task = b_.CreatePHI(b_.getInt64Ty(), 2);
    task->addIncoming(taskFn->getArg(1), before);
    runShare(taskPointers, scratch, task);
    llvm::Value *next = b_.CreateAdd(task, i64(1));
    task->addIncoming(next, b_.GetInsertBlock());
    b_.CreateCondBr(b_.CreateICmpULT(next, taskFn->getArg(2)), head, done);
    b_.SetInsertPoint(done);
    b_.CreateRetVoid();

    b_.restoreIP(kernelPoint);
    emitPoolCall(b_, fn_, taskFn, context, l->tasks);
  }
  if (op.kind == ir::OpKind::ScanGrad)
    sumAccumulators(*l);
  b_.CreateRetVoid();
}

} // namespace

std::optional<size_t> loopScratchBytes(const ir::Op &loop,
                                       const std::vector<std::vector<int64_t>> &operandShapes,
                                       const ir::SymbolBindings &bindings, const Target &target,
                                       std::string &error) {
  std::optional<ScratchLayout> l = layoutOf(loop, operandShapes, bindings, target, error);
  if (!l)
    return std::nullopt;
  return l->bytes();
}

void emitLoopKernel(llvm::Function *kernelFn, const LoopKernel &loop, const MemoryPlan &plan,
                    const ir::SymbolBindings &bindings, const Target &target) {
  LoopEmitter(kernelFn, loop, plan, bindings, target).emit();
}

} // namespace nabla::codegen
