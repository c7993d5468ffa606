#include "codegen/Parallel.h"

#include <llvm/IR/Module.h>

namespace nabla::codegen {

void emitParallelFor(KernelBuilder &k, const char *suffix,
                     const std::vector<llvm::Value *> &pointers, int64_t count,
                     const TaskEmitterFn &body) {
  llvm::Function *kernel = k.fn;
  llvm::Module &m = *kernel->getParent();
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type *i64 = k.b.getInt64Ty();
  // The range function: the pointers as parameters that alias nothing the
  // function writes (the kernel's buffers never overlap, see ModuleEmitter),
  // so its loops need no run-time overlap checks; then the range of tasks.
  std::vector<llvm::Type *> params(pointers.size(), ptr);
  params.push_back(i64);
  params.push_back(i64);
  auto *range = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false),
      llvm::GlobalValue::InternalLinkage, kernel->getName() + "_" + suffix + "_range", m);
  auto *taskType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64}, false);
  auto *task = llvm::Function::Create(taskType, llvm::GlobalValue::InternalLinkage,
                                      kernel->getName() + "_" + suffix, m);
  for (llvm::Function *f : {range, task}) {
    f->addFnAttr(llvm::Attribute::NoUnwind);
    for (const char *attr : {"target-cpu", "target-features", "prefer-vector-width"})
      if (kernel->hasFnAttribute(attr))
        f->addFnAttr(kernel->getFnAttribute(attr));
  }
  for (unsigned i = 0; i < pointers.size(); ++i) {
    range->addParamAttr(i, llvm::Attribute::NoAlias);
    range->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  {
    KernelBuilder t(range, k.op, k.inShapes, k.outShape, k.opIndex, k.bindings);
    std::vector<llvm::Value *> fields;
    for (unsigned i = 0; i < pointers.size(); ++i)
      fields.push_back(range->getArg(i));
    t.loopBetween(range->getArg(unsigned(pointers.size())),
                  range->getArg(unsigned(pointers.size() + 1)),
                  [&](llvm::Value *index) { body(t, fields, index); });
    t.b.CreateRetVoid();
  }
  {
    // The task function unpacks the context for it.
    llvm::IRBuilder<> t(llvm::BasicBlock::Create(ctx, "entry", task));
    std::vector<llvm::Value *> args;
    for (size_t i = 0; i < pointers.size(); ++i)
      args.push_back(t.CreateLoad(ptr, t.CreateConstInBoundsGEP1_64(ptr, task->getArg(0), i)));
    args.push_back(task->getArg(1));
    args.push_back(task->getArg(2));
    t.CreateCall(range, args);
    t.CreateRetVoid();
  }
  llvm::IRBuilder<> entry(&kernel->getEntryBlock(), kernel->getEntryBlock().begin());
  llvm::Value *context =
      entry.CreateAlloca(llvm::ArrayType::get(ptr, std::max<size_t>(1, pointers.size())));
  for (size_t i = 0; i < pointers.size(); ++i)
    k.b.CreateStore(pointers[i], k.b.CreateConstInBoundsGEP1_64(ptr, context, i));
  llvm::FunctionCallee parallelFor = m.getOrInsertFunction(
      "nabla_parallel_for",
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, i64}, false));
  k.b.CreateCall(parallelFor, {task, context, k.i64(count)});
}

} // namespace nabla::codegen
