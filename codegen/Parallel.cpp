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
  auto *taskType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64}, false);
  auto *task = llvm::Function::Create(taskType, llvm::GlobalValue::InternalLinkage,
                                      kernel->getName() + "_" + suffix, m);
  task->addFnAttr(llvm::Attribute::NoUnwind);
  for (const char *attr : {"target-cpu", "target-features", "prefer-vector-width"})
    if (kernel->hasFnAttribute(attr))
      task->addFnAttr(kernel->getFnAttribute(attr));
  {
    KernelBuilder t(task, k.op, k.inShapes, k.outShape, k.opIndex, k.bindings);
    llvm::Value *context = task->getArg(0);
    std::vector<llvm::Value *> fields;
    for (size_t i = 0; i < pointers.size(); ++i)
      fields.push_back(t.b.CreateLoad(ptr, t.b.CreateConstInBoundsGEP1_64(ptr, context, i)));
    t.loopBetween(task->getArg(1), task->getArg(2),
                  [&](llvm::Value *index) { body(t, fields, index); });
    t.b.CreateRetVoid();
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
