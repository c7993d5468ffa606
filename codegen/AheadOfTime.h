//===- AheadOfTime.h - A forward step as a stand-alone object --*- C++ -*-===//
//
// `nabla compile` writes the optimized forward step as an object file that
// needs neither LLVM nor the tool to run: the step's kernels (as the JIT
// would compile them), the small C runtime of runtime/aot/ModelRuntime.c
// (thread pool, params loading, batch tiling, errors), and the C API of
// docs/embedding.md, every symbol internal but PREFIX_create, _predict,
// _destroy, _error and _set_threads. The header declares that API.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Target.h"
#include "ir/IR.h"
#include "runtime/Tensor.h"
#include "support/SourceManager.h"

#include <optional>
#include <string>
#include <vector>

namespace nabla::codegen {

/// How the object serves its callers.
struct AheadOfTimeModel {
  std::string prefix; ///< of every exported name: PREFIX_create, ...
  /// The symbolic batch size of the inputs ("" when every size is fixed);
  /// bound to `tile` when compiling.
  std::string batchSymbol;
  int64_t tile = 1;        ///< examples per run of the compiled step
  bool fixedBatch = false; ///< a batch other than `tile` is an error
  int threads = 0;         ///< threads of parallel loops (0: the cores online)
  bool flushSubnormals = true;
  /// Params embedded in the object, one per param argument in order; empty:
  /// the caller passes a safetensors file to PREFIX_create.
  std::vector<const Tensor *> embedded;
};

/// The object file of `fn` (a forward step with only outputs as results),
/// optimized at `optLevel` for `target`; nothing, with `error` set, when
/// it cannot be built.
std::optional<std::string> compileAheadOfTime(const ir::Function &fn, const AheadOfTimeModel &model,
                                              const Target &target, int optLevel,
                                              const SourceManager &sources, std::string &error);

/// The C header declaring the object's API, with each argument's shape.
std::string aheadOfTimeHeader(const ir::Function &fn, const AheadOfTimeModel &model,
                              const std::string &script);

} // namespace nabla::codegen
