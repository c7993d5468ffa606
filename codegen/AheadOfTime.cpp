#include "codegen/AheadOfTime.h"
#include "codegen/LLVMPipeline.h"
#include "codegen/MemoryPlan.h"
#include "codegen/ModelRuntimeBitcode.h"
#include "codegen/ModuleEmitter.h"
#include "codegen/ObjectCompiler.h"

#include <fmt/format.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/IPO/Internalize.h>

#include <set>

namespace nabla::codegen {

namespace {

/// Where embedded params start: each at a multiple of this, as the
/// kernels' aligned loads of params allow.
constexpr size_t kParamAlignment = 64;

/// The C API: PREFIX_<name> calls the runtime's nabla_aot_<name>, and is
/// all the object exports.
constexpr const char *kApiFunctions[] = {"create", "predict", "destroy", "error", "set_threads"};

/// "file.nn:3:7" (or the op's name alone without a position).
std::string describeOp(const ir::Op &op, const SourceManager &sources) {
  if (!op.loc.isValid())
    return std::string(op.info().name);
  return fmt::format("{} at {}:{}:{}", op.info().name, sources.name(op.loc.file), op.loc.line,
                     op.loc.col);
}

/// The runtime's description of the model (runtime/aot/ModelRuntime.c).
std::string describeModel(const ir::Function &fn, const AheadOfTimeModel &model,
                          const MemoryPlan &plan, const std::vector<size_t> &embeddedOffsets,
                          const SourceManager &sources) {
  std::string text = fmt::format("tile {}\nfixed {}\narena {}\nthreads {}\nflush {}\n", model.tile,
                                 model.fixedBatch ? 1 : 0, plan.arenaBytes(), model.threads,
                                 model.flushSubnormals ? 1 : 0);
  auto rowElements = [&](const ir::Value *v) {
    int64_t n = plan.of(v).numel;
    return model.fixedBatch ? n : n / model.tile;
  };
  std::string args;
  int params = 0, inputs = 0;
  for (const auto &arg : fn.args) {
    const ValueLayout &layout = plan.of(&arg->value);
    const char *dtype = dtypeName(arg->value.type.dtype);
    if (arg->role == ir::ArgRole::Param) {
      std::string dims;
      for (int64_t d : layout.shape)
        dims += fmt::format(" {}", d);
      int64_t offset = embeddedOffsets.empty() ? -1 : int64_t(embeddedOffsets[size_t(params)]);
      text += fmt::format("param {} {} {}{} {}\n", arg->value.name, dtype, layout.shape.size(),
                          dims, offset);
      args += fmt::format("arg p {}\n", params++);
    } else {
      text += fmt::format("input {} {} {}\n", arg->value.name, dtype, rowElements(&arg->value));
      args += fmt::format("arg i {}\n", inputs++);
    }
  }
  for (const ir::Result &r : fn.results)
    text += fmt::format("output {} {} {}\n", r.name, dtypeName(r.value->type.dtype),
                        rowElements(r.value));
  text += args;
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const ir::Op &op = *fn.ops[i];
    if (op.kind == ir::OpKind::OneHot)
      text += fmt::format("check {} {} {}\n", i, op.attrs.classes, describeOp(op, sources));
    else if (op.kind == ir::OpKind::CrossEntropy)
      text += fmt::format("check {} {} {}\n", i, plan.of(op.operands[0]).shape[1],
                          describeOp(op, sources));
  }
  return text;
}

/// Every embedded param's bytes, each at a multiple of kParamAlignment;
/// `offsets` gets where each starts.
std::string embeddedData(const AheadOfTimeModel &model, std::vector<size_t> &offsets) {
  std::string data;
  for (const Tensor *t : model.embedded) {
    data.resize((data.size() + kParamAlignment - 1) / kParamAlignment * kParamAlignment, '\0');
    offsets.push_back(data.size());
    data.append(static_cast<const char *>(t->raw()), t->byteSize());
  }
  return data;
}

/// A read-only global holding `bytes`.
llvm::GlobalVariable *constantBytes(llvm::Module &m, llvm::StringRef bytes, bool addNull,
                                    const std::string &name, size_t alignment) {
  llvm::Constant *init = llvm::ConstantDataArray::getString(m.getContext(), bytes, addNull);
  auto *g = new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                     init, name);
  g->setAlignment(llvm::Align(alignment));
  return g;
}

/// An exported function whose body `body` emits.
void defineFunction(
    llvm::Module &m, const std::string &name, llvm::FunctionType *type,
    const std::function<llvm::Value *(llvm::IRBuilder<> &, llvm::Function *)> &body) {
  auto *f = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, name, m);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(m.getContext(), "entry", f));
  llvm::Value *result = body(b, f);
  if (result)
    b.CreateRet(result);
  else
    b.CreateRetVoid();
}

/// The C API: each function calls the runtime's with the model's
/// description, embedded params and step.
bool defineAPI(llvm::Module &m, const AheadOfTimeModel &model, const std::string &description,
               const std::string &embedded, size_t pointers, std::string &error) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx), *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *voidType = llvm::Type::getVoidTy(ctx);
  const std::string &p = model.prefix;
  llvm::Function *step = m.getFunction(p + "_step");
  std::map<std::string, llvm::Function *> runtime;
  for (const char *name : kApiFunctions) {
    runtime[name] = m.getFunction(std::string("nabla_aot_") + name);
    if (!runtime[name]) {
      error = fmt::format("the runtime has no nabla_aot_{}", name);
      return false;
    }
  }
  if (!step) {
    error = "the step's entry function is missing";
    return false;
  }
  llvm::Value *text = constantBytes(m, description, true, p + "_description", 1);
  llvm::Value *data = embedded.empty()
                          ? llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0))
                          : static_cast<llvm::Value *>(
                                constantBytes(m, embedded, false, p + "_params", kParamAlignment));
  defineFunction(m, p + "_create", llvm::FunctionType::get(ptr, {ptr}, false),
                 [&](llvm::IRBuilder<> &b, llvm::Function *f) {
                   return b.CreateCall(runtime["create"], {text, data, step, f->getArg(0)});
                 });
  std::vector<llvm::Type *> predictParams = {ptr, i64};
  predictParams.insert(predictParams.end(), pointers, ptr);
  defineFunction(m, p + "_predict", llvm::FunctionType::get(i32, predictParams, false),
                 [&](llvm::IRBuilder<> &b, llvm::Function *f) {
                   llvm::Value *array =
                       b.CreateAlloca(llvm::ArrayType::get(ptr, std::max<size_t>(1, pointers)));
                   for (size_t i = 0; i < pointers; ++i)
                     b.CreateStore(f->getArg(unsigned(i + 2)),
                                   b.CreateConstInBoundsGEP1_64(ptr, array, i));
                   return b.CreateCall(runtime["predict"], {f->getArg(0), f->getArg(1), array});
                 });
  defineFunction(m, p + "_destroy", llvm::FunctionType::get(voidType, {ptr}, false),
                 [&](llvm::IRBuilder<> &b, llvm::Function *f) {
                   b.CreateCall(runtime["destroy"], {f->getArg(0)});
                   return nullptr;
                 });
  defineFunction(
      m, p + "_error", llvm::FunctionType::get(ptr, {}, false),
      [&](llvm::IRBuilder<> &b, llvm::Function *) { return b.CreateCall(runtime["error"], {}); });
  defineFunction(m, p + "_set_threads", llvm::FunctionType::get(i32, {i32}, false),
                 [&](llvm::IRBuilder<> &b, llvm::Function *f) {
                   return b.CreateCall(runtime["set_threads"], {f->getArg(0)});
                 });
  return true;
}

/// Links the runtime's bitcode into `m`.
bool linkRuntime(llvm::Module &m, std::string &error) {
  llvm::MemoryBufferRef buffer(llvm::StringRef(reinterpret_cast<const char *>(kModelRuntimeBitcode),
                                               kModelRuntimeBitcodeSize),
                               "ModelRuntime.bc");
  auto runtime = llvm::parseBitcodeFile(buffer, m.getContext());
  if (!runtime) {
    error = "the runtime's bitcode: " + llvm::toString(runtime.takeError());
    return false;
  }
  (*runtime)->setTargetTriple(m.getTargetTriple());
  (*runtime)->setDataLayout(m.getDataLayout());
  if (llvm::Linker::linkModules(m, std::move(*runtime))) {
    error = "linking the runtime failed";
    return false;
  }
  return true;
}

} // namespace

std::optional<std::string> compileAheadOfTime(const ir::Function &fn, const AheadOfTimeModel &model,
                                              const Target &target, int optLevel,
                                              const SourceManager &sources, std::string &error) {
  ir::SymbolBindings bindings;
  if (!model.batchSymbol.empty())
    bindings[model.batchSymbol] = model.tile;
  std::optional<MemoryPlan> plan = MemoryPlan::plan(fn, bindings, target, error);
  if (!plan)
    return std::nullopt;
  std::vector<size_t> offsets;
  std::string embedded = embeddedData(model, offsets);
  std::string description = describeModel(fn, model, *plan, offsets, sources);

  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(target, optLevel, error);
  if (!tm)
    return std::nullopt;
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> m =
      emitModule(fn, *plan, bindings, target, context, model.prefix + "_step", &sources, nullptr);
  m->setTargetTriple(target.triple);
  m->setDataLayout(tm->createDataLayout());
  runLLVMPipeline(*m, *tm, optLevel);
  size_t pointers = fn.arguments(ir::ArgRole::Input).size() + fn.results.size();
  if (!linkRuntime(*m, error) || !defineAPI(*m, model, description, embedded, pointers, error))
    return std::nullopt;
  std::set<std::string> keep;
  for (const char *name : kApiFunctions)
    keep.insert(model.prefix + "_" + name);
  llvm::internalizeModule(
      *m, [&](const llvm::GlobalValue &gv) { return keep.count(gv.getName().str()) > 0; });
  std::string broken;
  llvm::raw_string_ostream brokenStream(broken);
  if (llvm::verifyModule(*m, &brokenStream)) {
    error = "invalid LLVM IR: " + broken;
    return std::nullopt;
  }
  return emitMachineCode(*m, *tm, false, error);
}

} // namespace nabla::codegen
