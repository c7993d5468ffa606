#include "codegen/LoopKernels.h"
#include "codegen/ModuleEmitter.h"
#include "ir/Loops.h"
#include "runtime/Tensor.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <functional>

namespace nabla::codegen {

namespace {

size_t roundUp(size_t bytes) { return (bytes + 63) / 64 * 64; }

/// A tensor seen around the loop's axis: `outer` runs of `inner` elements
/// at each of `length` positions.
struct AxisSplit {
  int64_t outer = 1, length = 1, inner = 1;
  size_t elementBytes = 4;
  /// Bytes of one slice.
  size_t sliceBytes() const { return size_t(outer * inner) * elementBytes; }
  /// Whether the body can take a slice in place: one contiguous run, as
  /// aligned as every buffer a kernel takes (64 bytes).
  bool inPlace() const { return outer == 1 && sliceBytes() % 64 == 0; }
};

AxisSplit splitAt(const std::vector<int64_t> &shape, int64_t axis, DType dtype) {
  AxisSplit s;
  s.elementBytes = dtypeSize(dtype);
  for (int64_t d = 0; d < int64_t(shape.size()); ++d)
    (d < axis ? s.outer : d == axis ? s.length : s.inner) *= shape[size_t(d)];
  return s;
}

/// Where the kernel keeps what: offsets into its scratch space.
struct ScratchLayout {
  std::optional<MemoryPlan> body;
  /// xs; hs (scan) or g (scan_grad) along the axis; the states time-major.
  AxisSplit xs, hs, states;
  size_t arena = 0, x = 0, prev = 0, gh = 0, dx = 0, h = 0;
  size_t state[2] = {0, 0}, carry[2] = {0, 0};
  std::vector<std::array<size_t, 2>> acc; ///< per accumulated extra
  /// scan: the body's results after the state, stacked; scan_grad: its
  /// residual operands. Each with a buffer for one slice.
  std::vector<AxisSplit> residuals;
  std::vector<size_t> residual;
  size_t bytes = 0;
};

/// The layout for loop op `op` whose operands have `shapes`.
std::optional<ScratchLayout> layoutOf(const ir::Op &op,
                                      const std::vector<std::vector<int64_t>> &shapes,
                                      const ir::SymbolBindings &bindings, const Target &target,
                                      std::string &error) {
  ScratchLayout l;
  l.body = MemoryPlan::plan(*op.attrs.body, bindings, target, error);
  if (!l.body)
    return std::nullopt;
  int64_t axis = op.attrs.axis;
  l.xs = splitAt(shapes[1], axis, op.operands[1]->type.dtype);
  std::vector<int64_t> stacked = shapes[0];
  stacked.insert(stacked.begin() + axis, l.xs.length);
  l.hs = splitAt(stacked, axis, op.operands[0]->type.dtype);
  std::vector<int64_t> timeMajor = shapes[0];
  timeMajor.insert(timeMajor.begin(), l.xs.length);
  l.states = splitAt(timeMajor, 0, op.operands[0]->type.dtype);
  size_t next = 0;
  auto take = [&](size_t bytes) {
    size_t at = next;
    next += roundUp(bytes);
    return at;
  };
  l.arena = take(l.body->arenaBytes());
  l.x = take(l.xs.sliceBytes());
  size_t state = l.hs.sliceBytes();
  if (op.kind == ir::OpKind::Scan) {
    l.state[0] = take(state);
    l.state[1] = take(state);
    const ir::Function &body = *op.attrs.body;
    for (size_t p = 1; p < body.results.size(); ++p) {
      const ir::Value *r = body.results[p].value;
      std::vector<int64_t> shape = l.body->of(r).shape;
      shape.insert(shape.begin(), l.xs.length);
      l.residuals.push_back(splitAt(shape, 0, r->type.dtype));
    }
  } else {
    ir::ScanGradLayout g = ir::scanGradLayout(op);
    for (size_t i = 0; i < g.residuals; ++i)
      l.residuals.push_back(
          splitAt(shapes[4 + g.extras + i], 0, op.operands[4 + g.extras + i]->type.dtype));
    l.h = take(state);
    l.prev = take(state);
    l.gh = take(state);
    l.carry[0] = take(state);
    l.carry[1] = take(state);
    if (g.xs)
      l.dx = take(l.xs.sliceBytes());
    for (size_t j : g.accs) {
      size_t bytes = 1;
      for (int64_t d : shapes[2 + j])
        bytes *= size_t(d);
      bytes *= dtypeSize(op.operands[2 + j]->type.dtype);
      l.acc.push_back({take(bytes), take(bytes)});
    }
  }
  for (const AxisSplit &r : l.residuals)
    l.residual.push_back(take(r.sliceBytes()));
  l.bytes = next;
  return l;
}

/// The loop kernel's code, built in one function.
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
  /// Slice `t` of `tensor` (split `s`): in place when contiguous, else
  /// copied into `buffer`.
  llvm::Value *readSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t,
                         llvm::Value *buffer);
  /// Copies `slice` into position `t` of `tensor`.
  void writeSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t, llvm::Value *slice);
  /// The body's entry, emitted into this module.
  llvm::Function *emitBody(const ir::Function &body, const MemoryPlan &bodyPlan);
  /// An array of `count` pointers on the stack.
  llvm::Value *pointerArray(size_t count) {
    return b_.CreateAlloca(llvm::ArrayType::get(b_.getPtrTy(), count));
  }
  void store(llvm::Value *array, size_t i, llvm::Value *pointer) {
    b_.CreateStore(pointer, b_.CreateConstGEP1_64(b_.getPtrTy(), array, i));
  }
  void emitScan(const ScratchLayout &l);
  void emitScanGrad(const ScratchLayout &l);

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
  auto *head = llvm::BasicBlock::Create(ctx_, "loop", fn_);
  auto *after = llvm::BasicBlock::Create(ctx_, "loop.end", fn_);
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
  size_t run = size_t(s.inner) * s.elementBytes;
  if (s.inPlace())
    return bytesAt(tensor, b_.CreateMul(t, i64(int64_t(run))));
  forEach(s.outer, [&](llvm::Value *o) {
    llvm::Value *from =
        b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(s.length)), t), i64(int64_t(run)));
    b_.CreateMemCpy(bytesAt(buffer, b_.CreateMul(o, i64(int64_t(run)))), llvm::MaybeAlign(),
                    bytesAt(tensor, from), llvm::MaybeAlign(), run);
  });
  return buffer;
}

void LoopEmitter::writeSlice(llvm::Value *tensor, const AxisSplit &s, llvm::Value *t,
                             llvm::Value *slice) {
  size_t run = size_t(s.inner) * s.elementBytes;
  forEach(s.outer, [&](llvm::Value *o) {
    llvm::Value *to =
        b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(s.length)), t), i64(int64_t(run)));
    b_.CreateMemCpy(bytesAt(tensor, to), llvm::MaybeAlign(),
                    bytesAt(slice, b_.CreateMul(o, i64(int64_t(run)))), llvm::MaybeAlign(), run);
  });
}

llvm::Function *LoopEmitter::emitBody(const ir::Function &body, const MemoryPlan &bodyPlan) {
  llvm::Module *m = fn_->getParent();
  std::string entryName = loop_.prefix + "body";
  emitModules(body, bodyPlan, bindings_, target_, {m}, loop_.prefix + "body_", entryName, nullptr,
              nullptr);
  llvm::Function *entry = m->getFunction(entryName);
  entry->setLinkage(llvm::GlobalValue::InternalLinkage);
  return entry;
}

void LoopEmitter::emitScan(const ScratchLayout &l) {
  const ir::Op &op = *loop_.ops[0];
  llvm::Function *body = emitBody(*op.attrs.body, *l.body);
  llvm::Value *scratch = loop_.scratch;
  llvm::Value *init = loop_.buffers.at(op.operands[0]), *xs = loop_.buffers.at(op.operands[1]);
  // The parts this kernel stores: the states (0), residuals (1 on).
  std::unordered_map<int64_t, llvm::Value *> stored;
  for (const ir::Op *part : loop_.ops)
    stored[part->attrs.part] = loop_.buffers.at(&part->result);
  // The states: hs (part 0) along the axis, time-major (part -1). The body
  // writes each in place into one of them when it can, else into two
  // buffers in turn; the others get a copy.
  struct Home {
    llvm::Value *tensor = nullptr;
    const AxisSplit *split = nullptr;
  };
  std::vector<Home> homes;
  for (auto [part, split] : {std::pair{int64_t(0), &l.hs}, std::pair{int64_t(-1), &l.states}})
    if (auto found = stored.find(part); found != stored.end())
      homes.push_back({found->second, split});
  auto home =
      std::find_if(homes.begin(), homes.end(), [](const Home &h) { return h.split->inPlace(); });
  size_t extras = ir::loopExtraCount(op);
  llvm::Value *args = pointerArray(2 + extras), *results = pointerArray(1 + l.residuals.size());
  for (size_t j = 0; j < extras; ++j)
    store(args, 2 + j, loop_.buffers.at(op.operands[2 + j]));
  int64_t steps = l.xs.length;
  size_t state = l.hs.sliceBytes();
  llvm::Value *buffers[2] = {bytesAt(scratch, l.state[0]), bytesAt(scratch, l.state[1])};
  forEach(steps, [&](llvm::Value *visit) {
    llvm::Value *t = op.attrs.reverse ? b_.CreateSub(i64(steps - 1), visit) : visit;
    llvm::Value *first = b_.CreateICmpEQ(visit, i64(0));
    llvm::Value *h, *prev;
    if (home != homes.end()) {
      h = bytesAt(home->tensor, b_.CreateMul(t, i64(int64_t(state))));
      llvm::Value *before = op.attrs.reverse ? b_.CreateAdd(t, i64(1)) : b_.CreateSub(t, i64(1));
      prev = b_.CreateSelect(first, init,
                             bytesAt(home->tensor, b_.CreateMul(before, i64(int64_t(state)))));
    } else {
      llvm::Value *odd = b_.CreateTrunc(visit, b_.getInt1Ty());
      h = b_.CreateSelect(odd, buffers[1], buffers[0]);
      prev = b_.CreateSelect(first, init, b_.CreateSelect(odd, buffers[0], buffers[1]));
    }
    store(args, 0, prev);
    store(args, 1, readSlice(xs, l.xs, t, bytesAt(scratch, l.x)));
    store(results, 0, h);
    std::vector<llvm::Value *> residuals;
    for (size_t i = 0; i < l.residuals.size(); ++i) {
      auto part = stored.find(int64_t(i + 1));
      bool inPlace = part != stored.end() && l.residuals[i].inPlace();
      residuals.push_back(
          inPlace
              ? bytesAt(part->second, b_.CreateMul(t, i64(int64_t(l.residuals[i].sliceBytes()))))
              : bytesAt(scratch, l.residual[i]));
      store(results, 1 + i, residuals.back());
    }
    b_.CreateCall(body, {args, results, bytesAt(scratch, l.arena)});
    for (auto other = homes.begin(); other != homes.end(); ++other)
      if (other != home)
        writeSlice(other->tensor, *other->split, t, h);
    for (size_t i = 0; i < l.residuals.size(); ++i)
      if (auto part = stored.find(int64_t(i + 1));
          part != stored.end() && !l.residuals[i].inPlace())
        writeSlice(part->second, l.residuals[i], t, residuals[i]);
  });
}

void LoopEmitter::emitScanGrad(const ScratchLayout &l) {
  const ir::Op &op = *loop_.ops[0];
  llvm::Function *body = emitBody(*op.attrs.body, *l.body);
  size_t extras = ir::loopExtraCount(op);
  ir::ScanGradLayout g = ir::scanGradLayout(op);
  llvm::Value *scratch = loop_.scratch;
  auto operand = [&](size_t i) { return loop_.buffers.at(op.operands[i]); };
  llvm::Value *init = operand(0), *xs = operand(1), *states = operand(2 + extras),
              *grad = operand(3 + extras);
  // The part each op of the kernel stores.
  std::unordered_map<int64_t, llvm::Value *> stored;
  for (const ir::Op *part : loop_.ops)
    stored[part->attrs.part] = loop_.buffers.at(&part->result);

  size_t argCount = g.residualArg(g.residuals);
  size_t resultCount = 1 + (g.xs ? 1 : 0) + g.accs.size();
  llvm::Value *args = pointerArray(argCount), *results = pointerArray(resultCount);
  for (size_t j = 0; j < extras; ++j)
    store(args, 2 + j, operand(2 + j));
  size_t state = l.hs.sliceBytes();
  llvm::Value *carry[2] = {bytesAt(scratch, l.carry[0]), bytesAt(scratch, l.carry[1])};
  b_.CreateMemSet(carry[0], b_.getInt8(0), state, llvm::MaybeAlign());
  std::vector<size_t> accBytes;
  for (size_t i = 0; i < g.accs.size(); ++i) {
    accBytes.push_back(plan_.of(op.operands[2 + g.accs[i]]).bytes);
    b_.CreateMemSet(bytesAt(scratch, l.acc[i][0]), b_.getInt8(0), accBytes[i], llvm::MaybeAlign());
  }
  int64_t steps = l.xs.length;
  forEach(steps, [&](llvm::Value *u) {
    // Visits from the last to the first: visit v = T-1-u is at position t.
    llvm::Value *visit = b_.CreateSub(i64(steps - 1), u);
    llvm::Value *t = op.attrs.reverse ? u : visit;
    llvm::Value *first = b_.CreateICmpEQ(visit, i64(0));
    // prev: the state of the visit before (init at the first).
    llvm::Value *before = op.attrs.reverse ? b_.CreateAdd(t, i64(1)) : b_.CreateSub(t, i64(1));
    before = b_.CreateSelect(first, t, before); // any position: init is taken there
    llvm::Value *prev = readSlice(states, l.states, before, bytesAt(scratch, l.prev));
    store(args, 0, b_.CreateSelect(first, init, prev));
    store(args, 1, readSlice(xs, l.xs, t, bytesAt(scratch, l.x)));
    store(args, g.gh(), readSlice(grad, l.hs, t, bytesAt(scratch, l.gh)));
    store(args, g.state(), readSlice(states, l.states, t, bytesAt(scratch, l.h)));
    for (size_t i = 0; i < g.residuals; ++i)
      store(args, g.residualArg(i),
            readSlice(operand(4 + extras + i), l.residuals[i], t, bytesAt(scratch, l.residual[i])));
    llvm::Value *odd = b_.CreateTrunc(u, b_.getInt1Ty());
    store(args, g.carry(), b_.CreateSelect(odd, carry[1], carry[0]));
    store(results, 0, b_.CreateSelect(odd, carry[0], carry[1]));
    llvm::Value *dx = nullptr;
    if (g.xs) {
      auto whole = stored.find(1);
      dx = whole != stored.end() && l.xs.inPlace()
               ? bytesAt(whole->second, b_.CreateMul(t, i64(int64_t(l.xs.sliceBytes()))))
               : bytesAt(scratch, l.dx);
      store(results, g.dxResult(), dx);
    }
    for (size_t i = 0; i < g.accs.size(); ++i) {
      llvm::Value *a0 = bytesAt(scratch, l.acc[i][0]), *a1 = bytesAt(scratch, l.acc[i][1]);
      store(args, g.accArg(i), b_.CreateSelect(odd, a1, a0));
      store(results, g.accResult(i), b_.CreateSelect(odd, a0, a1));
    }
    b_.CreateCall(body, {args, results, bytesAt(scratch, l.arena)});
    if (auto whole = stored.find(1); whole != stored.end() && !l.xs.inPlace())
      writeSlice(whole->second, l.xs, t, dx);
  });
  // After T visits the last results are in buffer T mod 2.
  size_t last = size_t(steps % 2);
  if (auto part = stored.find(0); part != stored.end())
    b_.CreateMemCpy(part->second, llvm::MaybeAlign(64), carry[last], llvm::MaybeAlign(), state);
  for (size_t i = 0; i < g.accs.size(); ++i)
    if (auto part = stored.find(int64_t(2 + g.accs[i])); part != stored.end())
      b_.CreateMemCpy(part->second, llvm::MaybeAlign(64), bytesAt(scratch, l.acc[i][last]),
                      llvm::MaybeAlign(), accBytes[i]);
}

void LoopEmitter::emit() {
  const ir::Op &op = *loop_.ops[0];
  std::vector<std::vector<int64_t>> shapes;
  for (const ir::Value *v : op.operands)
    shapes.push_back(plan_.of(v).shape);
  std::string error;
  std::optional<ScratchLayout> l = layoutOf(op, shapes, bindings_, target_, error);
  // The memory plan made the same layout already.
  if (l && l->xs.length > 0) {
    if (op.kind == ir::OpKind::Scan)
      emitScan(*l);
    else
      emitScanGrad(*l);
  }
  b_.CreateRetVoid();
}

} // namespace

std::optional<size_t> loopScratchBytes(const std::vector<const ir::Op *> &ops,
                                       const std::vector<std::vector<int64_t>> &operandShapes,
                                       const ir::SymbolBindings &bindings, const Target &target,
                                       std::string &error) {
  std::optional<ScratchLayout> l = layoutOf(*ops[0], operandShapes, bindings, target, error);
  if (!l)
    return std::nullopt;
  return l->bytes;
}

void emitLoopKernel(llvm::Function *kernelFn, const LoopKernel &loop, const MemoryPlan &plan,
                    const ir::SymbolBindings &bindings, const Target &target) {
  LoopEmitter(kernelFn, loop, plan, bindings, target).emit();
}

} // namespace nabla::codegen
