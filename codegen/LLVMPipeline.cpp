#include "codegen/LLVMPipeline.h"

#include <fmt/format.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/IR/Module.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Target/TargetMachine.h>

#include <deque>
#include <string>

namespace nabla::codegen {

namespace {

/// Vector variants in glibc's libmvec (2.35 on, Debian 12 has 2.36) that LLVM
/// 19's LIBMVEC_X86 table leaves out: without them tanh, erf (gelu), log1p
/// (softplus) and expm1 (elu) run as one scalar call per element, ten times
/// slower than the vector loop around them. SSE and AVX2 widths only, as
/// LLVM's own table: nothing ties an entry to the target's features, and an
/// AVX-512 variant would be called from AVX2 code that the vectorizer
/// unrolled to 16 lanes.
const std::vector<llvm::VecDesc> &moreLibmvecFunctions() {
  // A VecDesc holds StringRefs: the names live in a deque, which never moves them.
  static std::deque<std::string> names;
  static const std::vector<llvm::VecDesc> table = [] {
    std::vector<llvm::VecDesc> out;
    auto keep = [](std::string text) -> llvm::StringRef { return names.emplace_back(text); };
    for (const char *fn : {"tanh", "erf", "log1p", "expm1"})
      for (auto [isa, doubles] : {std::pair{'b', 2u}, {'d', 4u}})
        for (bool single : {false, true}) {
          unsigned lanes = single ? doubles * 2 : doubles;
          std::string scalar = std::string(fn) + (single ? "f" : "");
          out.emplace_back(keep(scalar), keep(fmt::format("_ZGV{}N{}v_{}", isa, lanes, scalar)),
                           llvm::ElementCount::getFixed(lanes), false,
                           keep(fmt::format("_ZGV_LLVM_N{}v", lanes)));
        }
    return out;
  }();
  return table;
}

} // namespace

void runLLVMPipeline(llvm::Module &module, llvm::TargetMachine &tm, int optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = optLevel >= 2;
  tuning.SLPVectorization = optLevel >= 2;
  llvm::PassBuilder builder(&tm, tuning);

  llvm::TargetLibraryInfoImpl library{llvm::Triple(module.getTargetTriple())};
  library.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86,
                                             llvm::Triple(module.getTargetTriple()));
  library.addVectorizableFunctions(moreLibmvecFunctions());
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(library); });

  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);

  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager pipeline = optLevel == 0 ? builder.buildO0DefaultPipeline(level)
                                                   : builder.buildPerModuleDefaultPipeline(level);
  pipeline.run(module, mam);
}

} // namespace nabla::codegen
