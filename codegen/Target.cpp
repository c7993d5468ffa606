#include "codegen/Target.h"

#include <llvm/ADT/StringMap.h>

#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>

namespace nabla::codegen {

const HostTarget &hostTarget() {
  static const HostTarget host = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    HostTarget h;
    h.triple = llvm::sys::getProcessTriple();
    h.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures features;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features.AddFeature(f.first(), f.second);
    h.features = features.getString();
    return h;
  }();
  return host;
}

std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(int optLevel, std::string &error) {
  const HostTarget &host = hostTarget();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(host.triple, error);
  if (!target)
    return nullptr;
  llvm::TargetOptions options;
  // Contraction into FMA is allowed; NaN and infinity keep their meaning.
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  llvm::CodeGenOptLevel level = optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                : llvm::CodeGenOptLevel::Aggressive;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      host.triple, host.cpu, host.features, options, llvm::Reloc::PIC_, std::nullopt, level));
}

} // namespace nabla::codegen
