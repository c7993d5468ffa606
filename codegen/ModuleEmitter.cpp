#include "codegen/ModuleEmitter.h"
#include "codegen/FusedKernels.h"
#include "codegen/Kernels.h"
#include "codegen/LoopKernels.h"
#include "codegen/Target.h"
#include "ir/Printer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>

#include <unordered_set>

namespace nabla::codegen {

namespace {

/// "%h1 = relu %2 : f32[128, 256] at fashion_mlp.nn:15:10", named as `dump --emit=ir` names.
std::string describe(const ir::Op &op, const MemoryPlan &layout, const SourceManager *sources,
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

/// A kernel taking `buffers` pointers, then scratch and status. Buffers never
/// alias one another (a value written in place shares its input's pointer);
/// those marked read-only are only read.
llvm::Function *declareKernel(llvm::Module &m, const std::string &name,
                              const std::vector<bool> &readOnly, const Target &target) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  std::vector<llvm::Type *> params(readOnly.size() + 2, ptr);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  auto *fn = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, m);
  fn->addFnAttr(llvm::Attribute::NoInline);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  // Loops vectorize to the target's widest vectors (LLVM prefers 256 bits
  // on some AVX-512 CPUs by default).
  fn->addFnAttr("prefer-vector-width", std::to_string(target.vectorBits));
  fn->addFnAttr("target-cpu", target.cpu);
  if (!target.features.empty())
    fn->addFnAttr("target-features", target.features);
  for (unsigned i = 0; i < readOnly.size(); ++i) {
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
    fn->addParamAttr(i, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    if (readOnly[i])
      fn->addParamAttr(i, llvm::Attribute::ReadOnly);
  }
  return fn;
}

/// The buffers a kernel takes, in parameter order: the values it stores
/// (except those written over an input), then the values it reads.
struct KernelParams {
  std::vector<const ir::Value *> values;
  std::vector<bool> readOnly;
  /// A stored value written over an input -> that input.
  std::unordered_map<const ir::Value *, const ir::Value *> sharedWith;
};

KernelParams paramsOf(const KernelPlan &kernel) {
  KernelParams p;
  std::unordered_set<const ir::Value *> overwritten;
  for (const auto &[value, input] : kernel.overwrites) {
    p.sharedWith[value] = input;
    overwritten.insert(input);
  }
  for (const ir::Value *v : kernel.stored)
    if (!p.sharedWith.count(v)) {
      p.values.push_back(v);
      p.readOnly.push_back(false);
    }
  for (const ir::Value *v : kernel.inputs) {
    p.values.push_back(v);
    p.readOnly.push_back(!overwritten.count(v));
  }
  return p;
}

/// What a kernel's code depends on, as text: two kernels with one key
/// compile to the same function, so the step calls the first one's twice
/// (an expanded scan has T copies of its cell's kernels). Values are named by
/// position: the kernel's parameter that holds them, or the op of the group
/// that computed them; the key holds every op's kind, attributes, dtype and
/// sizes, the parameters' sizes and read-only flags, and the scratch layout.
/// Kernels that report a data error at their op's position (labels out of
/// range) keep that position in the key.
std::string kernelKey(const ir::Function &fn, const KernelPlan &kernel, const KernelParams &params,
                      const MemoryPlan &plan) {
  std::unordered_map<const ir::Value *, std::string> local;
  std::string key = fmt::format("ops {} scratch {} rows {}\n", kernel.opCount, kernel.scratchBytes,
                                kernel.anchorRowsOffset);
  auto sizes = [&](const ir::Value *v) {
    return fmt::format("{}{}", dtypeName(v->type.dtype), fmt::join(plan.of(v).shape, "x"));
  };
  for (size_t i = 0; i < params.values.size(); ++i) {
    local[params.values[i]] = fmt::format("p{}", i);
    key += fmt::format("p{} {} {}\n", i, sizes(params.values[i]), params.readOnly[i] ? "r" : "w");
  }
  for (const auto &[value, input] : params.sharedWith)
    local[value] = local.at(input);
  key += fmt::format("anchor {}\n", kernel.anchorBuffer ? local.at(kernel.anchorBuffer) : "-");
  for (size_t i = 0; i < kernel.opCount; ++i) {
    const ir::Op &op = *fn.ops[kernel.firstOp + i];
    if (op.info().family == ir::OpFamily::Neural)
      key += fmt::format("at {}\n", kernel.firstOp + i);
    std::string operands;
    for (const ir::Value *v : op.operands) {
      auto found = local.find(v);
      if (found == local.end()) // not expected: keep the kernel to itself
        return fmt::format("own {}", kernel.firstOp);
      operands += " " + found->second;
    }
    std::string result = fmt::format("v{}", i);
    if (auto stored = local.find(&op.result); stored != local.end())
      result = stored->second;
    else
      local[&op.result] = result;
    key += fmt::format("{} = {}{} {} : {}\n", result, op.info().name, operands,
                       ir::attributesOf(op), sizes(&op.result));
  }
  return key;
}

/// How much code a kernel is likely to become, to balance the modules.
int kernelWeight(const ir::Function &fn, const KernelPlan &kernel) {
  int weight = int(kernel.opCount);
  for (size_t i = 0; i < kernel.opCount; ++i) {
    ir::OpKind kind = fn.ops[kernel.firstOp + i]->kind;
    if (kind == ir::OpKind::MatMul || kind == ir::OpKind::Conv2d ||
        kind == ir::OpKind::Conv2dBackwardInput || kind == ir::OpKind::Conv2dBackwardWeight)
      weight += 16;
  }
  return weight;
}

} // namespace

std::unique_ptr<llvm::Module> emitModule(const ir::Function &fn, const MemoryPlan &plan,
                                         const ir::SymbolBindings &bindings, const Target &target,
                                         llvm::LLVMContext &ctx, const std::string &entryName,
                                         const SourceManager *sources,
                                         std::vector<KernelInfo> *kernels) {
  auto m = std::make_unique<llvm::Module>("nabla." + fn.name, ctx);
  m->setTargetTriple(target.triple);
  emitModules(fn, plan, bindings, target, {m.get()}, "", entryName, sources, kernels);
  return m;
}

std::vector<KernelInfo> describeKernels(const ir::Function &fn, const MemoryPlan &plan,
                                        const SourceManager *sources) {
  std::unordered_map<const ir::Value *, std::string> names = ir::valueNames(fn);
  std::vector<KernelInfo> infos;
  for (const KernelPlan &kernel : plan.kernels()) {
    const ir::Op &first = *fn.ops[kernel.firstOp];
    bool grouped = kernel.opCount > 1;
    KernelInfo info;
    info.name = fmt::format("k{}_{}{}", kernel.firstOp, grouped ? "fused_" : "", first.info().name);
    for (size_t i = 0; i < kernel.opCount; ++i)
      info.description += (i         ? "\n"
                           : grouped ? "fused:\n"
                                     : "") +
                          describe(*fn.ops[kernel.firstOp + i], plan, sources, names);
    infos.push_back(std::move(info));
  }
  return infos;
}

void emitModules(const ir::Function &fn, const MemoryPlan &plan, const ir::SymbolBindings &bindings,
                 const Target &target, const std::vector<llvm::Module *> &modules,
                 const std::string &prefix, const std::string &entryName,
                 const SourceManager *sources, std::vector<KernelInfo> *kernels, bool profile) {
  std::vector<KernelInfo> infos = describeKernels(fn, plan, sources);
  llvm::Module *m = modules[0];
  llvm::LLVMContext &ctx = m->getContext();
  std::vector<int> load(modules.size(), 0);
  // The entry module holds the entry and counts as some load already.
  load[0] = 4;

  // The kernels, each in the least loaded module; a kernel whose code
  // another already has (kernelKey) calls that one.
  std::vector<llvm::Function *> kernelFns;
  std::vector<KernelParams> kernelParams;
  std::unordered_map<std::string, std::string> emitted; // key -> kernel name
  for (size_t u = 0; u < plan.kernels().size(); ++u) {
    const KernelPlan &kernel = plan.kernels()[u];
    const ir::Op &first = *fn.ops[kernel.firstOp];
    bool grouped = kernel.opCount > 1;
    std::string name = prefix + infos[u].name;
    KernelParams params = paramsOf(kernel);
    bool isLoop = first.info().family == ir::OpFamily::Loop;
    // A loop's kernel holds its body's code: each is its own.
    auto [same, isNew] = emitted.emplace(
        isLoop ? fmt::format("loop {}", u) : kernelKey(fn, kernel, params, plan), name);
    if (!isNew) {
      llvm::Function *existing = m->getFunction(same->second);
      if (!existing) { // defined in another module: declared in the entry's
        std::vector<llvm::Type *> types(params.values.size() + 2, llvm::PointerType::get(ctx, 0));
        existing = llvm::Function::Create(
            llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), types, false),
            llvm::GlobalValue::ExternalLinkage, same->second, *m);
      }
      kernelFns.push_back(existing);
      kernelParams.push_back(std::move(params));
      if (kernels)
        kernels->push_back({name, infos[u].description + "\n(the code of " + same->second + ")"});
      continue;
    }
    size_t home = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    load[home] += kernelWeight(fn, kernel);
    llvm::Function *kernelFn = declareKernel(*modules[home], name, params.readOnly, target);
    if (modules.size() > 1)
      kernelFn->setLinkage(llvm::GlobalValue::ExternalLinkage);
    std::unordered_map<const ir::Value *, llvm::Value *> pointers;
    for (size_t i = 0; i < params.values.size(); ++i)
      pointers[params.values[i]] = kernelFn->getArg(unsigned(i));
    for (const auto &[value, input] : params.sharedWith)
      pointers[value] = pointers.at(input);
    llvm::Value *scratch = kernelFn->getArg(unsigned(params.values.size()));
    llvm::Value *status = kernelFn->getArg(unsigned(params.values.size() + 1));
    if (isLoop) {
      LoopKernel loop;
      for (size_t i = 0; i < kernel.opCount; ++i)
        loop.ops.push_back(fn.ops[kernel.firstOp + i].get());
      for (const ir::Value *v : first.operands)
        loop.buffers[v] = pointers.at(v);
      for (const ir::Op *op : loop.ops)
        loop.buffers[&op->result] = pointers.at(&op->result);
      loop.scratch = scratch;
      loop.prefix = name + "_";
      emitLoopKernel(kernelFn, loop, plan, bindings, target);
    } else if (grouped) {
      GroupKernel group;
      for (size_t i = 0; i < kernel.opCount; ++i) {
        group.ops.push_back(fn.ops[kernel.firstOp + i].get());
        group.opIndices.push_back(int64_t(kernel.firstOp + i));
      }
      group.stored = kernel.stored;
      group.buffers = pointers;
      group.scratch = scratch;
      group.anchorRows = kernel.anchorBuffer ? pointers.at(kernel.anchorBuffer) : nullptr;
      group.anchorRowsOffset = kernel.anchorRowsOffset;
      group.status = status;
      emitGroup(kernelFn, group, plan, bindings, target);
    } else {
      std::vector<Sizes> shapes;
      std::vector<llvm::Value *> ins;
      for (const ir::Value *v : first.operands) {
        shapes.push_back(plan.of(v).shape);
        ins.push_back(pointers.at(v));
      }
      KernelBuilder builder(kernelFn, first, shapes, plan.of(&first.result).shape,
                            int64_t(kernel.firstOp), bindings, target);
      builder.setPointers(pointers.at(&first.result), ins, scratch, status);
      emitKernel(builder);
    }
    // The entry calls it through a declaration in its own module.
    if (kernelFn->getParent() != m) {
      std::vector<llvm::Type *> types(kernelFn->arg_size(), llvm::PointerType::get(ctx, 0));
      kernelFn =
          llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), types, false),
                                 llvm::GlobalValue::ExternalLinkage, name, *m);
    }
    kernelFns.push_back(kernelFn);
    kernelParams.push_back(std::move(params));
    if (kernels)
      kernels->push_back({name, infos[u].description});
  }

  // The entry: pointers to every buffer, the kernels in order, the results
  // that are not written in place copied out.
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  auto *entryType = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, ptr}, false);
  auto *entry =
      llvm::Function::Create(entryType, llvm::GlobalValue::ExternalLinkage, entryName, *m);
  entry->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  llvm::Value *args = entry->getArg(0), *results = entry->getArg(1), *arena = entry->getArg(2);
  auto pointerOf = [&](const ir::Value *v) -> llvm::Value * {
    const ValueLayout &l = plan.of(v);
    switch (l.place) {
    case Place::Argument:
      return b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, args, uint64_t(l.index)));
    case Place::Result:
      return b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, results, uint64_t(l.index)));
    default: return b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), arena, l.offset);
    }
  };
  llvm::Value *null = llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  llvm::FunctionCallee tick;
  if (profile)
    tick =
        m->getOrInsertFunction("nabla_profile_kernel", llvm::Type::getVoidTy(ctx), b.getInt64Ty());
  for (size_t u = 0; u < plan.kernels().size(); ++u) {
    const KernelPlan &kernel = plan.kernels()[u];
    if (profile)
      b.CreateCall(tick, {b.getInt64(u)});
    std::vector<llvm::Value *> callArgs;
    for (const ir::Value *v : kernelParams[u].values)
      callArgs.push_back(pointerOf(v));
    callArgs.push_back(kernel.scratchBytes ? b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), arena,
                                                                          kernel.scratchOffset)
                                           : null);
    callArgs.push_back(arena); // the status word
    b.CreateCall(kernelFns[u], callArgs);
  }
  if (profile)
    b.CreateCall(tick, {b.getInt64(uint64_t(-1))});
  for (size_t j = 0; j < fn.results.size(); ++j) {
    const ir::Value *v = fn.results[j].value;
    const ValueLayout &l = plan.of(v);
    if (l.place == Place::Result && l.index == int(j))
      continue;
    llvm::Value *dst = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, results, j));
    b.CreateMemCpy(dst, llvm::MaybeAlign(64), pointerOf(v), llvm::MaybeAlign(64), l.bytes);
  }
  b.CreateRetVoid();
}

} // namespace nabla::codegen
