#include "codegen/Compiler.h"
#include "codegen/JIT.h"
#include "codegen/LLVMPipeline.h"
#include "codegen/ModuleEmitter.h"
#include "codegen/ObjectCompiler.h"
#include "codegen/Target.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/FloatMode.h"
#include "runtime/ThreadPool.h"
#include "support/Version.h"

#include "codegen/CodeHash.h"

#include <fmt/format.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/AssemblyAnnotationWriter.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/FormattedStream.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace nabla::codegen {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Each line of `text` after `prefix`, newline-terminated.
std::string commentLines(const std::string &text, const char *prefix) {
  std::string out;
  llvm::StringRef rest = text;
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    out += prefix + line.str() + "\n";
    rest = tail;
  }
  return out;
}

/// Comments before each kernel in printed LLVM IR.
class KernelAnnotator : public llvm::AssemblyAnnotationWriter {
public:
  explicit KernelAnnotator(const std::vector<KernelInfo> &kernels) {
    for (const KernelInfo &k : kernels)
      descriptions_[k.name] = k.description;
  }
  void emitFunctionAnnot(const llvm::Function *f, llvm::formatted_raw_ostream &os) override {
    auto it = descriptions_.find(f->getName().str());
    if (it != descriptions_.end())
      os << commentLines(it->second, "; ");
  }

private:
  std::map<std::string, std::string> descriptions_;
};

} // namespace

std::string describeBindings(const ir::SymbolBindings &bindings) {
  if (bindings.empty())
    return "no symbolic sizes";
  std::string out;
  for (const auto &[name, value] : bindings)
    out += (out.empty() ? "" : ", ") + name + "=" + std::to_string(value);
  return out;
}

void CompiledStep::Free::operator()(std::byte *p) const { std::free(p); }

CompiledStep::CompiledStep(const ir::Function &fn, MemoryPlan plan, Entry *entry)
    : plan_(std::move(plan)), entry_(entry) {
  for (const ir::Result &r : fn.results)
    results_.push_back({r.value->type.dtype, plan_.of(r.value).shape});
  for (const auto &op : fn.ops) {
    int64_t classes = op->kind == ir::OpKind::OneHot         ? op->attrs.classes
                      : op->kind == ir::OpKind::CrossEntropy ? plan_.of(op->operands[0]).shape[1]
                                                             : 0;
    ops_.push_back({std::string(op->info().name), op->loc, classes});
  }
  size_t bytes = (plan_.arenaBytes() + 63) / 64 * 64;
  arena_.reset(static_cast<std::byte *>(std::aligned_alloc(64, bytes)));
  std::memset(arena_.get(), 0, bytes);
}

bool CompiledStep::runInto(const std::vector<const Tensor *> &args,
                           const std::vector<Tensor *> &results, DiagnosticEngine &diags) {
  const void *argPointers[256];
  void *resultPointers[256];
  std::vector<const void *> argSpill;
  std::vector<void *> resultSpill;
  const void **a = argPointers;
  void **r = resultPointers;
  if (args.size() > 256) {
    argSpill.resize(args.size());
    a = argSpill.data();
  }
  if (results.size() > 256) {
    resultSpill.resize(results.size());
    r = resultSpill.data();
  }
  for (size_t i = 0; i < args.size(); ++i)
    a[i] = args[i]->raw();
  for (size_t i = 0; i < results.size(); ++i)
    r[i] = results[i]->raw();
  auto *status = reinterpret_cast<StepStatus *>(arena_.get());
  *status = StepStatus{};
  {
    CompiledCodeFloatMode mode; // subnormals flushed (runtime/FloatMode.h)
    entry_(a, r, reinterpret_cast<char *>(arena_.get()));
  }
  if (status->failedOp >= 0) {
    const OpSummary &op = ops_[size_t(status->failedOp)];
    diags.error(op.loc, "{}: label {} at position {} is outside [0, {})", op.name, status->value,
                status->position, op.classes);
    return false;
  }
  return true;
}

std::optional<std::vector<Tensor>> CompiledStep::run(const std::vector<const Tensor *> &args,
                                                     DiagnosticEngine &diags) {
  std::vector<Tensor> results;
  std::vector<Tensor *> pointers;
  results.reserve(results_.size());
  for (const ResultSlot &slot : results_) {
    results.emplace_back(slot.dtype, slot.shape);
    pointers.push_back(&results.back());
  }
  if (!runInto(args, pointers, diags))
    return std::nullopt;
  return results;
}

Compiler::Compiler(const CompileOptions &options)
    : options_(options),
      disk_(options.useDiskCache ? KernelCache::fromEnvironment() : KernelCache("")) {}
Compiler::~Compiler() = default;

std::unique_ptr<Compiler> Compiler::create(const CompileOptions &options, std::string &error) {
  std::unique_ptr<Compiler> compiler(new Compiler(options));
  compiler->jit_ = JIT::create(options.optLevel, options.target, error);
  if (!compiler->jit_)
    return nullptr;
  return compiler;
}

CompiledStep *Compiler::compile(const ir::Function &fn, const ir::SymbolBindings &bindings,
                                const SourceManager &sources, DiagnosticEngine &diags) {
  // Functions are cached by their text: a compiled step serves any function
  // that prints the same, and never one that only reuses a freed address.
  std::string text;
  llvm::raw_string_ostream textStream(text);
  ir::print(fn, sources, textStream);
  auto key = std::make_pair(text, bindings);
  if (auto it = cache_.find(key); it != cache_.end())
    return it->second.get();
  const Target &target = options_.target;
  if (std::string why = whyHostCannotRun(target); !why.empty()) {
    diags.error({}, "{}", why);
    return nullptr;
  }
  if (!ir::verifyBoundSizes(fn, bindings, diags))
    return nullptr;
  auto start = std::chrono::steady_clock::now();
  std::string error;
  std::optional<MemoryPlan> plan = MemoryPlan::plan(fn, bindings, target, error);
  if (!plan) {
    diags.error({}, "cannot compile @{} for {}: {}", fn.name, describeBindings(bindings), error);
    return nullptr;
  }
  // What the machine code depends on, and the names that make it unique.
  std::string diskKey =
      fmt::format("nabla {} {} llvm {}\n-O{}{} {}\n{}\n{}", kVersion, kCodeHash,
                  LLVM_VERSION_STRING, options_.optLevel, options_.profile ? " profile" : "",
                  target.describe(), describeBindings(bindings), text);
  std::string id = KernelCache::hash(diskKey);
  std::string entryName = "nabla_" + id;

  bool fromDisk = false;
  std::optional<std::vector<std::string>> objects = disk_.load(diskKey);
  int unit = -1;
  if (objects) {
    unit = jit_->addObjects(*objects, error);
    fromDisk = unit >= 0;
  }
  if (!fromDisk) {
    objects = compileObjects(fn, *plan, bindings, id, entryName, sources, diags);
    if (!objects)
      return nullptr;
    unit = jit_->addObjects(*objects, error);
    if (unit < 0) {
      diags.error({}, "internal error: the JIT rejected @{}: {}", fn.name, error);
      return nullptr;
    }
    disk_.store(diskKey, *objects);
  }
  auto *entry = jit_->lookupFunction<CompiledStep::Entry>(entryName, error);
  if (!entry) {
    jit_->removeObjects(unit);
    diags.error({}, "internal error: compiling @{}: {}", fn.name, error);
    return nullptr;
  }
  ++times_.compiles;
  times_.fromDisk += fromDisk;
  if (options_.verbose >= 1)
    llvm::errs() << fmt::format(
        "nabla: note: {} @{} for {} at -O{} in {:.0f} ms\n", fromDisk ? "loaded" : "compiled",
        fn.name, describeBindings(bindings), options_.optLevel, secondsSince(start) * 1000);
  auto step = std::unique_ptr<CompiledStep>(new CompiledStep(fn, std::move(*plan), entry));
  if (options_.profile)
    step->kernels_ = describeKernels(fn, step->plan_, &sources);
  CompiledStep *result = step.get();
  cache_[key] = std::move(step);
  return result;
}

std::optional<std::vector<std::string>>
Compiler::compileObjects(const ir::Function &fn, const MemoryPlan &plan,
                         const ir::SymbolBindings &bindings, const std::string &id,
                         const std::string &entryName, const SourceManager &sources,
                         DiagnosticEngine &diags) {
  auto start = std::chrono::steady_clock::now();
  // One module per thread, when there are kernels enough to share.
  size_t parts = plan.kernels().size() >= 8 ? size_t(std::max(1, parallelThreads())) : 1;
  parts = std::min<size_t>(parts, 4);
  std::vector<ModuleUnit> units(parts);
  std::vector<llvm::Module *> modules;
  for (size_t i = 0; i < parts; ++i) {
    units[i].context = std::make_unique<llvm::LLVMContext>();
    units[i].module =
        std::make_unique<llvm::Module>(fmt::format("nabla.{}.{}", fn.name, i), *units[i].context);
    units[i].module->setTargetTriple(options_.target.triple);
    modules.push_back(units[i].module.get());
  }
  emitModules(fn, plan, bindings, options_.target, modules, "nabla_" + id + "_", entryName,
              &sources, nullptr, options_.profile);
  for (llvm::Module *m : modules) {
    std::string broken;
    llvm::raw_string_ostream brokenStream(broken);
    if (llvm::verifyModule(*m, &brokenStream)) {
      diags.error({}, "internal error: invalid LLVM IR for @{}: {}", fn.name, broken);
      return std::nullopt;
    }
  }
  times_.emit += secondsSince(start);
  ObjectTimes objectTimes;
  std::string error;
  auto objects = compileToObjects(units, options_.optLevel, options_.target, objectTimes, error);
  times_.optimize += objectTimes.optimize;
  times_.machineCode += objectTimes.machineCode;
  if (!objects)
    diags.error({}, "internal error: compiling @{}: {}", fn.name, error);
  return objects;
}

namespace {

/// Emits and optimizes `fn` into a fresh module (for dumps).
std::unique_ptr<llvm::Module>
optimizedModule(const ir::Function &fn, const ir::SymbolBindings &bindings,
                const SourceManager &sources, int optLevel, const Target &target,
                llvm::LLVMContext &context, std::vector<KernelInfo> &kernels,
                std::unique_ptr<llvm::TargetMachine> &tm, DiagnosticEngine &diags) {
  std::string error;
  std::optional<MemoryPlan> layout = MemoryPlan::plan(fn, bindings, target, error);
  if (!layout) {
    diags.error({}, "cannot compile @{} for {}: {}", fn.name, describeBindings(bindings), error);
    return nullptr;
  }
  auto module =
      emitModule(fn, *layout, bindings, target, context, "nabla_" + fn.name, &sources, &kernels);
  tm = createTargetMachine(target, optLevel, error);
  if (!tm) {
    diags.error({}, "internal error: no target machine for {}: {}", target.cpu, error);
    return nullptr;
  }
  module->setDataLayout(tm->createDataLayout());
  runLLVMPipeline(*module, *tm, optLevel);
  return module;
}

} // namespace

std::optional<std::string> Compiler::llvmIR(const ir::Function &fn,
                                            const ir::SymbolBindings &bindings,
                                            const SourceManager &sources, DiagnosticEngine &diags) {
  llvm::LLVMContext context;
  std::vector<KernelInfo> kernels;
  std::unique_ptr<llvm::TargetMachine> tm;
  auto module = optimizedModule(fn, bindings, sources, options_.optLevel, options_.target, context,
                                kernels, tm, diags);
  if (!module)
    return std::nullopt;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "; @" << fn.name << " for " << describeBindings(bindings) << ", -O" << options_.optLevel
     << ", " << options_.target.cpu << "\n";
  KernelAnnotator annotator(kernels);
  module->print(os, &annotator);
  return text;
}

std::optional<std::string> Compiler::assembly(const ir::Function &fn,
                                              const ir::SymbolBindings &bindings,
                                              const SourceManager &sources,
                                              DiagnosticEngine &diags) {
  llvm::LLVMContext context;
  std::vector<KernelInfo> kernels;
  std::unique_ptr<llvm::TargetMachine> tm;
  auto module = optimizedModule(fn, bindings, sources, options_.optLevel, options_.target, context,
                                kernels, tm, diags);
  if (!module)
    return std::nullopt;
  std::string error;
  std::optional<std::string> code = emitMachineCode(*module, *tm, true, error);
  if (!code) {
    diags.error({}, "internal error: {}", error);
    return std::nullopt;
  }
  // Annotate each kernel's label with its op.
  std::map<std::string, std::string> descriptions;
  for (const KernelInfo &k : kernels)
    descriptions[k.name + ":"] = k.description;
  std::string out = fmt::format("# @{} for {}, -O{}, {}\n", fn.name, describeBindings(bindings),
                                options_.optLevel, options_.target.cpu);
  llvm::StringRef rest = *code;
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    auto it = descriptions.find(line.trim().str());
    if (it != descriptions.end())
      out += commentLines(it->second, "# ");
    out += line.str() + "\n";
    rest = tail;
  }
  return out;
}

} // namespace nabla::codegen
