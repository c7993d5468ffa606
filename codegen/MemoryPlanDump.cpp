//===- MemoryPlanDump.cpp - `nabla dump --emit=memplan` --------------------===//
#include "codegen/MemoryPlanDump.h"
#include "codegen/Compiler.h"

#include "ir/Printer.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <unordered_set>

namespace nabla::codegen {

namespace {

/// The values the loss is computed from (the forward sweep), when there is one.
std::unordered_set<const ir::Op *> forwardOps(const ir::Function &fn) {
  std::unordered_set<const ir::Op *> forward;
  const ir::Result *loss = fn.findResult(ir::ResultRole::Loss);
  if (!loss)
    return forward;
  std::vector<const ir::Op *> stack;
  if (loss->value->def)
    stack.push_back(loss->value->def);
  while (!stack.empty()) {
    const ir::Op *op = stack.back();
    stack.pop_back();
    if (!forward.insert(op).second)
      continue;
    for (const ir::Value *v : op->operands)
      if (v->def)
        stack.push_back(v->def);
  }
  return forward;
}

std::string kernelName(const ir::Function &fn, const KernelPlan &k) {
  const ir::Op &first = *fn.ops[k.firstOp];
  return fmt::format("k{}_{}{}", k.firstOp, k.opCount > 1 ? "fused_" : "", first.info().name);
}

} // namespace

void printMemoryPlan(const ir::Function &fn, const MemoryPlan &plan,
                     const ir::SymbolBindings &bindings, llvm::raw_ostream &os) {
  std::unordered_map<const ir::Value *, std::string> names = ir::valueNames(fn);
  auto name = [&](const ir::Value *v) { return "%" + names.at(v); };
  os << "memory plan of @" << fn.name << " for " << describeBindings(bindings) << "\n\n";

  os << "kernels, in order:\n";
  std::unordered_map<size_t, std::string> kernelOfOp;
  for (const KernelPlan &k : plan.kernels()) {
    std::string ops;
    for (size_t i = 0; i < k.opCount; ++i) {
      const ir::Op &op = *fn.ops[k.firstOp + i];
      ops += fmt::format("{}{} = {}", i ? ", " : "", name(&op.result), op.info().name);
    }
    os << fmt::format("  {:<24} {}\n", kernelName(fn, k), ops);
  }

  // The forward sweep: the kernels that compute some op the loss depends
  // on. What they store and a later kernel of the backward sweep reads
  // stays alive across the sweep.
  std::unordered_set<const ir::Op *> lossCone = forwardOps(fn);
  std::vector<bool> forwardKernel;
  for (const KernelPlan &k : plan.kernels()) {
    bool computesLoss = false;
    for (size_t i = 0; i < k.opCount; ++i)
      computesLoss |= lossCone.count(fn.ops[k.firstOp + i].get()) > 0;
    forwardKernel.push_back(computesLoss);
  }
  std::unordered_map<const ir::Value *, size_t> writtenBy;
  for (const BufferPlan &b : plan.buffers())
    writtenBy[b.value] = b.firstKernel;
  std::unordered_set<const ir::Value *> kept;
  for (size_t k = 0; k < plan.kernels().size(); ++k)
    for (size_t i = 0; !forwardKernel[k] && i < plan.kernels()[k].opCount; ++i)
      for (const ir::Value *v : fn.ops[plan.kernels()[k].firstOp + i]->operands)
        if (auto w = writtenBy.find(v); w != writtenBy.end() && forwardKernel[w->second])
          kept.insert(v);

  os << "\nbuffers in the arena (bytes; the status word takes the first "
     << MemoryPlan::kStatusBytes << "):\n";
  os << fmt::format("  {:<16} {:>10} {:>10}  {:<24} {:<24} {}\n", "value", "bytes", "offset",
                    "written by", "last read by", "notes");
  size_t keptBytes = 0;
  for (const BufferPlan &b : plan.buffers()) {
    std::string notes;
    if (kept.count(b.value)) {
      notes = "kept for the backward sweep";
      keptBytes += b.bytes;
    }
    if (b.reuses)
      notes += (notes.empty() ? "" : "; ") + ("in place of " + name(b.reuses));
    os << fmt::format("  {:<16} {:>10} {:>10}  {:<24} {:<24} {}\n", name(b.value), b.bytes,
                      b.offset, kernelName(fn, plan.kernels()[b.firstKernel]),
                      kernelName(fn, plan.kernels()[b.lastKernel]), notes);
  }
  bool anyScratch = false;
  for (const KernelPlan &k : plan.kernels())
    if (k.scratchBytes) {
      if (!anyScratch)
        os << "\nscratch space (during one kernel):\n";
      anyScratch = true;
      os << fmt::format("  {:<24} {:>10} bytes at {}\n", kernelName(fn, k), k.scratchBytes,
                        k.scratchOffset);
    }

  std::string direct;
  for (size_t j = 0; j < fn.results.size(); ++j) {
    const ValueLayout &l = plan.of(fn.results[j].value);
    if (l.place == Place::Result && l.index == int(j))
      direct += (direct.empty() ? "" : ", ") + std::string(ir::roleName(fn.results[j].role)) +
                (fn.results[j].name.empty() ? "" : " " + fn.results[j].name);
  }
  size_t inRegisters = 0;
  for (const auto &op : fn.ops)
    if (plan.of(&op->result).place == Place::Register)
      ++inRegisters;
  os << "\nwritten straight into the caller's results: " << (direct.empty() ? "none" : direct)
     << "\n";
  os << "values kept in registers inside a fused kernel: " << inRegisters << "\n";
  if (!lossCone.empty())
    os << fmt::format("kept for the backward sweep: {} values, {} bytes\n", kept.size(), keptBytes);
  size_t peak = plan.arenaBytes();
  size_t unplanned = plan.unplannedBytes();
  os << fmt::format("peak: {} bytes of arena\n", peak);
  os << fmt::format("every intermediate value in a buffer of its own: {} bytes; the plan "
                    "needs {:.1f}% of that\n",
                    unplanned, unplanned ? 100.0 * double(peak) / double(unplanned) : 0.0);
}

} // namespace nabla::codegen
