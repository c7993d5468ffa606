#include "codegen/JIT.h"
#include "codegen/Target.h"
#include "runtime/KernelProfile.h"
#include "runtime/ThreadPool.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/TargetParser/SubtargetFeature.h>

namespace nabla::codegen {

struct JIT::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::vector<llvm::orc::ResourceTrackerSP> units; ///< by addObjects handle
};

JIT::JIT() : impl_(std::make_unique<Impl>()) {}
JIT::~JIT() = default;

std::unique_ptr<JIT> JIT::create(int optLevel, const Target &target, std::string &error) {
  llvm::orc::JITTargetMachineBuilder builder{llvm::Triple(target.triple)};
  builder.setCPU(target.cpu);
  llvm::SubtargetFeatures features(target.features);
  builder.addFeatures(features.getFeatures());
  builder.setCodeGenOptLevel(optLevel == 0   ? llvm::CodeGenOptLevel::None
                             : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                             : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                             : llvm::CodeGenOptLevel::Aggressive);
  builder.getOptions().AllowFPOpFusion = llvm::FPOpFusion::Fast;
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(builder)).create();
  if (!jit) {
    error = llvm::toString(jit.takeError());
    return nullptr;
  }
  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator) {
    error = llvm::toString(generator.takeError());
    return nullptr;
  }
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  // Kernels call libm and libmvec. The tool links both, but a process that
  // loaded Nabla with RTLD_LOCAL (Python's extension modules) does not show
  // their symbols globally: search them by name too.
  for (const char *library : {"libm.so.6", "libmvec.so.1"}) {
    auto found = llvm::orc::DynamicLibrarySearchGenerator::Load(
        library, (*jit)->getDataLayout().getGlobalPrefix());
    if (!found) {
      error = llvm::toString(found.takeError());
      return nullptr;
    }
    (*jit)->getMainJITDylib().addGenerator(std::move(*found));
  }
  // The runtime's entry points, by address (the tool does not export them).
  llvm::orc::SymbolMap runtime;
  runtime[(*jit)->mangleAndIntern("nabla_parallel_for")] = {
      llvm::orc::ExecutorAddr::fromPtr(&nabla_parallel_for),
      llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  runtime[(*jit)->mangleAndIntern("nabla_profile_kernel")] = {
      llvm::orc::ExecutorAddr::fromPtr(&nabla_profile_kernel),
      llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  if (llvm::Error e = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(runtime))) {
    error = llvm::toString(std::move(e));
    return nullptr;
  }
  std::unique_ptr<JIT> result(new JIT());
  result->impl_->jit = std::move(*jit);
  return result;
}

bool JIT::addModule(std::unique_ptr<llvm::LLVMContext> context,
                    std::unique_ptr<llvm::Module> module, std::string &error) {
  auto tracker = impl_->jit->getMainJITDylib().createResourceTracker();
  llvm::orc::ThreadSafeModule tsm(std::move(module), std::move(context));
  if (llvm::Error e = impl_->jit->addIRModule(tracker, std::move(tsm))) {
    error = llvm::toString(std::move(e));
    return false;
  }
  return true;
}

int JIT::addObjects(const std::vector<std::string> &objects, std::string &error) {
  auto tracker = impl_->jit->getMainJITDylib().createResourceTracker();
  for (const std::string &object : objects) {
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, "nabla-step.o");
    if (llvm::Error e = impl_->jit->addObjectFile(tracker, std::move(buffer))) {
      error = llvm::toString(std::move(e));
      llvm::consumeError(tracker->remove());
      return -1;
    }
  }
  impl_->units.push_back(tracker);
  return int(impl_->units.size() - 1);
}

void JIT::removeObjects(int handle) {
  if (handle >= 0 && size_t(handle) < impl_->units.size() && impl_->units[size_t(handle)]) {
    llvm::consumeError(impl_->units[size_t(handle)]->remove());
    impl_->units[size_t(handle)] = nullptr;
  }
}

void *JIT::lookup(const std::string &symbol, std::string &error) {
  auto address = impl_->jit->lookup(symbol);
  if (!address) {
    error = llvm::toString(address.takeError());
    return nullptr;
  }
  return address->toPtr<void *>();
}

} // namespace nabla::codegen
