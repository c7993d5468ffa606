#include "codegen/ObjectCompiler.h"
#include "codegen/LLVMPipeline.h"
#include "codegen/Target.h"

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace nabla::codegen {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// One module to one object; what went wrong in `error`.
struct Job {
  ModuleUnit *unit;
  int optLevel;
  const Target *target;
  std::string object, error;
  double optimize = 0, machineCode = 0;

  void run() {
    std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(*target, optLevel, error);
    if (!tm)
      return;
    llvm::Module &m = *unit->module;
    m.setDataLayout(tm->createDataLayout());
    auto start = std::chrono::steady_clock::now();
    nabla::codegen::runLLVMPipeline(m, *tm, optLevel);
    optimize = secondsSince(start);
    start = std::chrono::steady_clock::now();
    if (std::optional<std::string> code = emitMachineCode(m, *tm, false, error))
      object = std::move(*code);
    machineCode = secondsSince(start);
  }
};

} // namespace

std::optional<std::string> emitMachineCode(llvm::Module &m, llvm::TargetMachine &tm, bool assembly,
                                           std::string &error) {
  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream os(bytes);
  llvm::legacy::PassManager passes;
  if (tm.addPassesToEmitFile(passes, os, nullptr,
                             assembly ? llvm::CodeGenFileType::AssemblyFile
                                      : llvm::CodeGenFileType::ObjectFile)) {
    error = assembly ? "the target cannot emit assembly" : "the target cannot emit object files";
    return std::nullopt;
  }
  passes.run(m);
  return std::string(bytes.begin(), bytes.end());
}

std::optional<std::vector<std::string>> compileToObjects(std::vector<ModuleUnit> &units,
                                                         int optLevel, const Target &target,
                                                         ObjectTimes &times, std::string &error) {
  std::vector<Job> jobs;
  for (ModuleUnit &u : units)
    jobs.push_back({&u, optLevel, &target, {}, {}});
  // The first module on this thread, the others on their own.
  std::vector<std::thread> threads;
  for (size_t i = 1; i < jobs.size(); ++i)
    threads.emplace_back([&job = jobs[i]] { job.run(); });
  jobs[0].run();
  for (std::thread &t : threads)
    t.join();
  std::vector<std::string> objects;
  for (Job &job : jobs) {
    if (!job.error.empty()) {
      error = job.error;
      return std::nullopt;
    }
    times.optimize = std::max(times.optimize, job.optimize);
    times.machineCode = std::max(times.machineCode, job.machineCode);
    objects.push_back(std::move(job.object));
  }
  return objects;
}

} // namespace nabla::codegen
