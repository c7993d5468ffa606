#include "codegen/ModuleEmitter.h"
#include "codegen/Kernels.h"
#include "codegen/Target.h"
#include "ir/Printer.h"

#include <fmt/format.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>

namespace nabla::codegen {

namespace {

/// "%h1 = relu %2 : f32[128, 256] at fashion_mlp.nn:15:10", named as `dump --emit=ir` names.
std::string describe(const ir::Op &op, const Layout &layout, const SourceManager *sources,
                     const std::unordered_map<const ir::Value *, std::string> &names) {
  std::string operands;
  for (const ir::Value *v : op.operands)
    operands += (operands.empty() ? " %" : ", %") + names.at(v);
  const ValueLayout &r = layout.of(&op.result);
  std::string shape;
  for (size_t i = 0; i < r.shape.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(r.shape[i]);
  std::string where;
  if (op.loc.isValid())
    where = fmt::format(" at {}:{}:{}", sources ? sources->name(op.loc.file) : "?", op.loc.line,
                        op.loc.col);
  return fmt::format("%{} = {}{} : {}[{}]{}", names.at(&op.result), op.info().name, operands,
                     dtypeName(op.result.type.dtype), shape, where);
}

llvm::Function *declareKernel(llvm::Module &m, const std::string &name, size_t operands) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  std::vector<llvm::Type *> params(operands + 3, ptr); // out, inputs..., scratch, status
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  auto *fn = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, m);
  fn->addFnAttr(llvm::Attribute::NoInline);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr("prefer-vector-width", "512");
  fn->addFnAttr("target-cpu", hostTarget().cpu);
  fn->addFnAttr("target-features", hostTarget().features);
  for (unsigned i = 0; i < operands + 1; ++i) {
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
    fn->addParamAttr(i, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    if (i > 0)
      fn->addParamAttr(i, llvm::Attribute::ReadOnly);
  }
  return fn;
}

} // namespace

std::unique_ptr<llvm::Module> emitModule(const ir::Function &fn, const Layout &layout,
                                         const ir::SymbolBindings &bindings, llvm::LLVMContext &ctx,
                                         const std::string &entryName, const SourceManager *sources,
                                         std::vector<KernelInfo> *kernels) {
  auto m = std::make_unique<llvm::Module>("nabla." + fn.name, ctx);
  m->setTargetTriple(hostTarget().triple);

  // The kernels.
  std::unordered_map<const ir::Value *, std::string> names = ir::valueNames(fn);
  std::vector<llvm::Function *> kernelFns;
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const ir::Op &op = *fn.ops[i];
    std::string name = fmt::format("k{}_{}", i, op.info().name);
    llvm::Function *kernel = declareKernel(*m, name, op.operands.size());
    std::vector<Sizes> shapes;
    for (const ir::Value *v : op.operands)
      shapes.push_back(layout.of(v).shape);
    KernelBuilder builder(kernel, op, shapes, layout.of(&op.result).shape, int64_t(i), bindings);
    emitKernel(builder);
    kernelFns.push_back(kernel);
    if (kernels)
      kernels->push_back({name, describe(op, layout, sources, names)});
  }

  // The entry: pointers to every value, the kernels in order, the results copied out.
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  auto *entryType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, ptr}, false);
  auto *entry =
      llvm::Function::Create(entryType, llvm::GlobalValue::ExternalLinkage, entryName, *m);
  entry->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  llvm::Value *args = entry->getArg(0), *results = entry->getArg(1), *arena = entry->getArg(2);
  auto pointerOf = [&](const ir::Value *v) -> llvm::Value * {
    const ValueLayout &l = layout.of(v);
    if (l.argument >= 0)
      return b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, args, uint64_t(l.argument)));
    return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), arena, l.offset);
  };
  std::unordered_map<const ir::Value *, llvm::Value *> pointers;
  for (const auto &arg : fn.args)
    pointers[&arg->value] = pointerOf(&arg->value);
  llvm::Value *null = llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const ir::Op &op = *fn.ops[i];
    pointers[&op.result] = pointerOf(&op.result);
    std::vector<llvm::Value *> callArgs = {pointers[&op.result]};
    for (const ir::Value *v : op.operands)
      callArgs.push_back(pointers.at(v));
    callArgs.push_back(layout.scratchBytes(i) ? b.CreateConstInBoundsGEP1_64(
                                                    b.getInt8Ty(), arena, layout.scratchOffset(i))
                                              : null);
    callArgs.push_back(arena); // the status word
    b.CreateCall(kernelFns[i], callArgs);
  }
  for (size_t j = 0; j < fn.results.size(); ++j) {
    const ir::Value *v = fn.results[j].value;
    llvm::Value *dst = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, results, j));
    b.CreateMemCpy(dst, llvm::MaybeAlign(64), pointers.at(v), llvm::MaybeAlign(64),
                   layout.of(v).bytes);
  }
  b.CreateRetVoid();
  return m;
}

} // namespace nabla::codegen
