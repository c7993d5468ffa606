//===- Compiler.h - IR functions to native code -----------------*- C++ -*-===//
//
// Specializes an IR function to the sizes of a run, emits its kernels as LLVM
// IR, optimizes them for the target CPU (the host by default) and JIT-compiles
// them. Each distinct set of sizes compiles once; later requests reuse the
// code. A compiled step runs with one arena of working memory, allocated once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelCache.h"
#include "codegen/MemoryPlan.h"
#include "codegen/ModuleEmitter.h"
#include "codegen/Target.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nabla::codegen {

class JIT;

struct CompileOptions {
  int optLevel = 2;         ///< LLVM's -O0 to -O3
  int verbose = 0;          ///< 1: a note on stderr for each compile
  bool useDiskCache = true; ///< the on-disk kernel cache (codegen/KernelCache.h)
  bool profile = false;     ///< time each kernel (runtime/KernelProfile.h)
  /// The CPU to generate code for (--cpu). Steps for a CPU whose features
  /// the host lacks can be dumped, not compiled to run.
  Target target = hostTarget();
};

/// Seconds spent in each stage of code generation, over every compile.
struct CompileTimes {
  double emit = 0;        ///< IR to LLVM IR
  double optimize = 0;    ///< LLVM's pass pipeline
  double machineCode = 0; ///< instruction selection to object code
  unsigned compiles = 0;  ///< steps made ready, compiled or loaded
  unsigned fromDisk = 0;  ///< of those, loaded from the disk cache
};

class CompiledStep {
public:
  /// Runs the step on `args` (one per argument of the function, of its
  /// dtypes and of the compiled sizes). Returns one tensor per result, or
  /// nothing after reporting a data error (a label out of range) at the
  /// source position of the op that met it.
  std::optional<std::vector<Tensor>> run(const std::vector<const Tensor *> &args,
                                         DiagnosticEngine &diags);
  /// Runs the step writing result i into results[i] (of the result's dtype
  /// and shape). Kernels write results directly, so no result may share
  /// memory with an argument or another result. False after reporting a
  /// data error.
  bool runInto(const std::vector<const Tensor *> &args, const std::vector<Tensor *> &results,
               DiagnosticEngine &diags);
  const MemoryPlan &plan() const { return plan_; }
  /// Each kernel's name and the ops it computes, in the order they run (for
  /// a step compiled with CompileOptions::profile; empty otherwise).
  const std::vector<KernelInfo> &kernels() const { return kernels_; }
  /// The shape of result `i`.
  const std::vector<int64_t> &resultShape(size_t i) const { return results_[i].shape; }

private:
  friend class Compiler;
  using Entry = void(const void *const *, void *const *, char *);
  CompiledStep(const ir::Function &fn, MemoryPlan plan, Entry *entry);

  /// What the step needs of the function once compiled: it keeps no pointer
  /// into the IR, so it serves any function with the same text.
  struct ResultSlot {
    DType dtype;
    std::vector<int64_t> shape;
  };
  struct OpSummary {
    std::string name;
    SourceLoc loc;
    int64_t classes; ///< one_hot and cross_entropy: the class count
  };
  std::vector<ResultSlot> results_;
  std::vector<OpSummary> ops_;
  MemoryPlan plan_;
  std::vector<KernelInfo> kernels_;
  Entry *entry_;
  struct Free {
    void operator()(std::byte *p) const;
  };
  std::unique_ptr<std::byte[], Free> arena_;
};

class Compiler {
public:
  static std::unique_ptr<Compiler> create(const CompileOptions &options, std::string &error);
  ~Compiler();

  /// The native code of `fn` for `bindings` (compiled on first use); null
  /// after reporting an error (among them: the host cannot run code for
  /// the target).
  CompiledStep *compile(const ir::Function &fn, const ir::SymbolBindings &bindings,
                        const SourceManager &sources, DiagnosticEngine &diags);

  /// The optimized LLVM IR of `fn`'s kernels for `bindings`, each kernel
  /// preceded by a comment naming its op and source position.
  std::optional<std::string> llvmIR(const ir::Function &fn, const ir::SymbolBindings &bindings,
                                    const SourceManager &sources, DiagnosticEngine &diags);
  /// The target's assembly of the same, annotated the same way.
  std::optional<std::string> assembly(const ir::Function &fn, const ir::SymbolBindings &bindings,
                                      const SourceManager &sources, DiagnosticEngine &diags);

  const CompileTimes &times() const { return times_; }
  const Target &target() const { return options_.target; }

private:
  explicit Compiler(const CompileOptions &options);
  /// Emits the step into modules, optimizes and compiles them in parallel.
  std::optional<std::vector<std::string>>
  compileObjects(const ir::Function &fn, const MemoryPlan &plan, const ir::SymbolBindings &bindings,
                 const std::string &id, const std::string &entryName, const SourceManager &sources,
                 DiagnosticEngine &diags);

  CompileOptions options_;
  KernelCache disk_;
  std::unique_ptr<JIT> jit_;
  /// By the function's text and the sizes.
  std::map<std::pair<std::string, ir::SymbolBindings>, std::unique_ptr<CompiledStep>> cache_;
  CompileTimes times_;
};

/// "B=128, T=7" (or "no symbolic sizes").
std::string describeBindings(const ir::SymbolBindings &bindings);

} // namespace nabla::codegen
