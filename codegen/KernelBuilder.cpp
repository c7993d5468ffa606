#include "codegen/KernelBuilder.h"

#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

namespace nabla::codegen {

Sizes stridesOf(const Sizes &shape) {
  Sizes s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    s[i - 1] = s[i] * shape[i];
  return s;
}

int64_t product(const Sizes &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

KernelBuilder::KernelBuilder(llvm::Function *fn, const ir::Op &op, std::vector<Sizes> operandShapes,
                             Sizes resultShape, int64_t opIndex, const ir::SymbolBindings &bindings,
                             const Target &target)
    : b(llvm::BasicBlock::Create(fn->getContext(), "entry", fn)), fn(fn), op(op),
      inShapes(std::move(operandShapes)), outShape(std::move(resultShape)), opIndex(opIndex),
      bindings(bindings), target(target) {
  llvm::FastMathFlags flags;
  flags.setAllowReassoc();
  flags.setAllowContract();
  b.setFastMathFlags(flags);
  if (fn->arg_size() == op.operands.size() + 3) {
    std::vector<llvm::Value *> ins;
    for (size_t i = 0; i < op.operands.size(); ++i)
      ins.push_back(fn->getArg(unsigned(1 + i)));
    setPointers(fn->getArg(0), ins, fn->getArg(unsigned(1 + op.operands.size())),
                fn->getArg(unsigned(2 + op.operands.size())));
  }
}

void KernelBuilder::setPointers(llvm::Value *out, std::vector<llvm::Value *> ins,
                                llvm::Value *scratch, llvm::Value *status) {
  out_ = out;
  ins_ = std::move(ins);
  scratch_ = scratch;
  status_ = status;
}

int64_t KernelBuilder::sizeOf(const Dim &d) const { return (*ir::concreteShape({d}, bindings))[0]; }

llvm::AllocaInst *KernelBuilder::local(llvm::Type *type, llvm::Value *initial) {
  llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  llvm::AllocaInst *slot = entry.CreateAlloca(type);
  b.CreateStore(initial, slot);
  return slot;
}

llvm::Type *KernelBuilder::typeOf(DType d) {
  switch (d) {
  case DType::F32: return b.getFloatTy();
  case DType::F64: return b.getDoubleTy();
  case DType::I32: return b.getInt32Ty();
  }
  return b.getFloatTy();
}

llvm::FixedVectorType *KernelBuilder::vectorOf(DType d) {
  return llvm::FixedVectorType::get(typeOf(d), lanesOf(d));
}

llvm::Value *KernelBuilder::laneIndices(unsigned lanes, llvm::Value *first) {
  std::vector<llvm::Constant *> steps;
  for (unsigned l = 0; l < lanes; ++l)
    steps.push_back(b.getInt64(l));
  return b.CreateAdd(b.CreateVectorSplat(lanes, first), llvm::ConstantVector::get(steps));
}

llvm::Value *KernelBuilder::lanesBelow(unsigned lanes, llvm::Value *first, llvm::Value *end) {
  return b.CreateICmpSLT(laneIndices(lanes, first), b.CreateVectorSplat(lanes, end));
}

llvm::Value *KernelBuilder::constant(DType d, double v) {
  if (d == DType::I32)
    return b.getInt32(uint32_t(int32_t(v)));
  return llvm::ConstantFP::get(typeOf(d), v);
}

llvm::Value *KernelBuilder::load(DType d, llvm::Value *base, llvm::Value *index) {
  llvm::Value *p = b.CreateInBoundsGEP(typeOf(d), base, index);
  return b.CreateLoad(typeOf(d), p);
}

void KernelBuilder::store(DType d, llvm::Value *value, llvm::Value *base, llvm::Value *index) {
  llvm::Value *p = b.CreateInBoundsGEP(typeOf(d), base, index);
  b.CreateStore(value, p);
}

void KernelBuilder::fill(double value, int64_t count) {
  llvm::Value *v = constant(outType(), value);
  loop(0, count, [&](llvm::Value *i) { storeOut(v, i); });
}

void KernelBuilder::loop(int64_t begin, int64_t end, const std::function<void(llvm::Value *)> &body,
                         bool rolled) {
  loopBetween(i64(begin), i64(end), body, rolled);
}

void KernelBuilder::loopBetween(llvm::Value *begin, llvm::Value *end,
                                const std::function<void(llvm::Value *)> &body, bool rolled) {
  reduceBetween(
      begin, end, nullptr,
      [&](llvm::Value *i, llvm::Value *) {
        body(i);
        return nullptr;
      },
      rolled);
}

void KernelBuilder::keepRolled(llvm::Instruction *latch) {
  llvm::LLVMContext &ctx = fn->getContext();
  llvm::MDNode *noUnroll =
      llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")});
  llvm::MDNode *loopId = llvm::MDNode::getDistinct(ctx, {nullptr, noUnroll});
  loopId->replaceOperandWith(0, loopId);
  latch->setMetadata(llvm::LLVMContext::MD_loop, loopId);
}

llvm::Value *
KernelBuilder::reduce(int64_t begin, int64_t end, llvm::Value *init,
                      const std::function<llvm::Value *(llvm::Value *, llvm::Value *)> &body,
                      bool rolled) {
  return reduceBetween(i64(begin), i64(end), init, body, rolled);
}

llvm::Value *
KernelBuilder::reduceBetween(llvm::Value *begin, llvm::Value *end, llvm::Value *init,
                             const std::function<llvm::Value *(llvm::Value *, llvm::Value *)> &body,
                             bool rolled) {
  llvm::LLVMContext &ctx = fn->getContext();
  llvm::BasicBlock *preheader = b.GetInsertBlock();
  llvm::BasicBlock *header = llvm::BasicBlock::Create(ctx, "loop", fn);
  llvm::BasicBlock *bodyBlock = llvm::BasicBlock::Create(ctx, "body", fn);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  b.CreateBr(header);
  b.SetInsertPoint(header);
  llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, "i");
  i->addIncoming(begin, preheader);
  llvm::PHINode *acc = nullptr;
  if (init) {
    acc = b.CreatePHI(init->getType(), 2, "acc");
    acc->addIncoming(init, preheader);
  }
  b.CreateCondBr(b.CreateICmpSLT(i, end), bodyBlock, exit);
  b.SetInsertPoint(bodyBlock);
  llvm::Value *next = body(i, acc);
  llvm::BasicBlock *latch = b.GetInsertBlock();
  i->addIncoming(b.CreateNSWAdd(i, i64(1)), latch);
  if (acc)
    acc->addIncoming(next, latch);
  llvm::BranchInst *back = b.CreateBr(header);
  if (rolled)
    keepRolled(back);
  b.SetInsertPoint(exit);
  return acc;
}

void KernelBuilder::forEachIndex(
    const Sizes &shape, const std::function<void(const std::vector<llvm::Value *> &)> &body) {
  std::vector<llvm::Value *> indices;
  std::function<void(size_t)> level = [&](size_t d) {
    if (d == shape.size()) {
      body(indices);
      return;
    }
    loop(0, shape[d], [&](llvm::Value *i) {
      indices.push_back(i);
      level(d + 1);
      indices.pop_back();
    });
  };
  level(0);
}

llvm::Value *KernelBuilder::linear(const std::vector<llvm::Value *> &indices, const Sizes &strides,
                                   int64_t offset) {
  llvm::Value *sum = i64(offset);
  for (size_t d = 0; d < indices.size(); ++d)
    if (strides[d] != 0)
      sum = b.CreateNSWAdd(sum, b.CreateNSWMul(indices[d], i64(strides[d])));
  return sum;
}

void KernelBuilder::ifThen(llvm::Value *cond, const std::function<void()> &then) {
  llvm::LLVMContext &ctx = fn->getContext();
  llvm::BasicBlock *thenBlock = llvm::BasicBlock::Create(ctx, "then", fn);
  llvm::BasicBlock *done = llvm::BasicBlock::Create(ctx, "done", fn);
  b.CreateCondBr(cond, thenBlock, done);
  b.SetInsertPoint(thenBlock);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

llvm::Value *KernelBuilder::intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Value *> args) {
  return b.CreateIntrinsic(id, {args[0]->getType()}, args);
}

llvm::Value *KernelBuilder::libm(const char *name, llvm::Value *x) {
  bool single = x->getType()->isFloatTy();
  std::string symbol = std::string(name) + (single ? "f" : "");
  llvm::Module *m = fn->getParent();
  llvm::FunctionCallee callee =
      m->getOrInsertFunction(symbol, llvm::FunctionType::get(x->getType(), {x->getType()}, false));
  if (auto *f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    f->setDoesNotThrow();
    f->setDoesNotAccessMemory();
    f->setWillReturn();
  }
  return b.CreateCall(callee, {x});
}

void KernelBuilder::failAt(int64_t index, llvm::Value *position, llvm::Value *value) {
  llvm::Type *i64Ty = b.getInt64Ty();
  b.CreateStore(i64(index), b.CreateInBoundsGEP(i64Ty, status(), i64(0)));
  b.CreateStore(b.CreateSExtOrTrunc(position, i64Ty), b.CreateInBoundsGEP(i64Ty, status(), i64(1)));
  b.CreateStore(b.CreateSExtOrTrunc(value, i64Ty), b.CreateInBoundsGEP(i64Ty, status(), i64(2)));
}

} // namespace nabla::codegen
