#include "codegen/Parallel.h"

#include <llvm/IR/Module.h>

namespace nabla::codegen {

llvm::Function *helperFunction(llvm::Function *kernel, llvm::FunctionType *type,
                               const llvm::Twine &name) {
  auto *f =
      llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, *kernel->getParent());
  f->addFnAttr(llvm::Attribute::NoUnwind);
  for (const char *attr : {"target-cpu", "target-features", "prefer-vector-width"})
    if (kernel->hasFnAttribute(attr))
      f->addFnAttr(kernel->getFnAttribute(attr));
  return f;
}

void emitPoolCall(llvm::IRBuilder<> &b, llvm::Function *kernel, llvm::Function *task,
                  const std::vector<llvm::Value *> &pointers, int64_t count) {
  llvm::Type *ptr = b.getPtrTy();
  llvm::IRBuilder<> entry(&kernel->getEntryBlock(), kernel->getEntryBlock().begin());
  llvm::Value *context =
      entry.CreateAlloca(llvm::ArrayType::get(ptr, std::max<size_t>(1, pointers.size())));
  for (size_t i = 0; i < pointers.size(); ++i)
    b.CreateStore(pointers[i], b.CreateConstInBoundsGEP1_64(ptr, context, i));
  llvm::FunctionCallee parallelFor = kernel->getParent()->getOrInsertFunction(
      "nabla_parallel_for",
      llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr, b.getInt64Ty()}, false));
  b.CreateCall(parallelFor, {task, context, b.getInt64(uint64_t(count))});
}

void emitParallelFor(KernelBuilder &k, const char *suffix,
                     const std::vector<llvm::Value *> &pointers, int64_t count,
                     const TaskEmitterFn &body, bool onPool) {
  llvm::Function *kernel = k.fn;
  llvm::LLVMContext &ctx = kernel->getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type *i64 = k.b.getInt64Ty();
  llvm::Type *voidType = llvm::Type::getVoidTy(ctx);
  // The range function: the pointers as parameters that alias nothing the
  // function writes (the kernel's buffers never overlap, see ModuleEmitter),
  // so its loops need no run-time overlap checks; then the range of tasks.
  std::vector<llvm::Type *> params(pointers.size(), ptr);
  params.push_back(i64);
  params.push_back(i64);
  llvm::Function *range = helperFunction(kernel, llvm::FunctionType::get(voidType, params, false),
                                         kernel->getName() + "_" + suffix + "_range");
  for (unsigned i = 0; i < pointers.size(); ++i) {
    range->addParamAttr(i, llvm::Attribute::NoAlias);
    range->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  {
    KernelBuilder t(range, k.op, k.inShapes, k.outShape, k.opIndex, k.bindings, k.target);
    // The builder's default buffers are the kernel's parameters: the range
    // function has others, which the body sets from `fields`.
    t.setPointers(nullptr, {}, nullptr, nullptr);
    std::vector<llvm::Value *> fields;
    for (unsigned i = 0; i < pointers.size(); ++i)
      fields.push_back(range->getArg(i));
    t.loopBetween(range->getArg(unsigned(pointers.size())),
                  range->getArg(unsigned(pointers.size() + 1)),
                  [&](llvm::Value *index) { body(t, fields, index); });
    t.b.CreateRetVoid();
  }
  if (!onPool || k.target.serial) {
    std::vector<llvm::Value *> args = pointers;
    args.push_back(k.i64(0));
    args.push_back(k.i64(count));
    k.b.CreateCall(range, args);
    return;
  }
  // The task function unpacks the context for it.
  llvm::Function *task =
      helperFunction(kernel, llvm::FunctionType::get(voidType, {ptr, i64, i64}, false),
                     kernel->getName() + "_" + suffix);
  {
    llvm::IRBuilder<> t(llvm::BasicBlock::Create(ctx, "entry", task));
    std::vector<llvm::Value *> args;
    for (size_t i = 0; i < pointers.size(); ++i)
      args.push_back(t.CreateLoad(ptr, t.CreateConstInBoundsGEP1_64(ptr, task->getArg(0), i)));
    args.push_back(task->getArg(1));
    args.push_back(task->getArg(2));
    t.CreateCall(range, args);
    t.CreateRetVoid();
  }
  emitPoolCall(k.b, kernel, task, pointers, count);
}

std::pair<llvm::Value *, llvm::Value *> taskShare(KernelBuilder &t, llvm::Value *task,
                                                  int64_t total, int64_t tasks) {
  auto &b = t.b;
  auto start = [&](llvm::Value *i) {
    return b.CreateSDiv(b.CreateNSWMul(i, t.i64(total)), t.i64(tasks));
  };
  return {start(task), start(b.CreateNSWAdd(task, t.i64(1)))};
}

} // namespace nabla::codegen
