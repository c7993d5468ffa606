#include "codegen/MemoryPlan.h"

#include "codegen/Kernels.h"
#include "codegen/LoopKernels.h"
#include "ir/Groups.h"
#include "ir/Loops.h"
#include "runtime/Tensor.h"

#include <algorithm>
#include <map>
#include <unordered_set>

namespace nabla::codegen {

using namespace ir;

size_t scratchBytesFor(const Op &op, const std::vector<std::vector<int64_t>> &operands,
                       const ValueLayout &result, const Target &target) {
  // logsumexp keeps the running sum of each group next to its maximum, a
  // large reduction its partial results; a tiled matmul packs a transposed
  // B; a convolution lays out its taps.
  if (op.kind == OpKind::LogSumExp || op.kind == OpKind::ReduceSum ||
      op.kind == OpKind::ReduceMax || op.kind == OpKind::ReduceMin)
    return reductionScratchBytes(op, result.shape, operands[0]);
  if (op.kind == OpKind::MatMul)
    return gemmScratchBytes(op, result.shape, operands, target);
  if (op.kind == OpKind::Conv2d || op.kind == OpKind::Conv2dBackwardInput ||
      op.kind == OpKind::Conv2dBackwardWeight)
    return convScratchBytes(op, result.shape, operands, target);
  return 0;
}

namespace {

size_t roundUp(size_t bytes) { return (bytes + 63) / 64 * 64; }

/// Free space of the arena: best-fit allocation, coalescing frees.
class Arena {
public:
  explicit Arena(size_t start) : end_(start), peak_(start) {}

  size_t allocate(size_t bytes) {
    bytes = roundUp(bytes);
    if (bytes == 0)
      return end_;
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= bytes && (best == free_.end() || it->second < best->second))
        best = it;
    if (best != free_.end()) {
      size_t offset = best->first, left = best->second - bytes;
      free_.erase(best);
      if (left)
        free_[offset + bytes] = left;
      return offset;
    }
    // Grow, starting inside a free block that ends at the end.
    size_t offset = end_;
    if (!free_.empty() && free_.rbegin()->first + free_.rbegin()->second == end_) {
      offset = free_.rbegin()->first;
      free_.erase(std::prev(free_.end()));
    }
    end_ = offset + bytes;
    peak_ = std::max(peak_, end_);
    return offset;
  }

  void release(size_t offset, size_t bytes) {
    bytes = roundUp(bytes);
    if (bytes == 0)
      return;
    auto [it, inserted] = free_.emplace(offset, bytes);
    if (auto next = std::next(it); next != free_.end() && offset + bytes == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  size_t peak() const { return peak_; }

private:
  std::map<size_t, size_t> free_; ///< offset -> bytes
  size_t end_, peak_;
};

/// Whether the kernel reads `input` only at the element it writes: then a
/// result of the same size may take its buffer.
bool readsElementwise(const std::vector<const Op *> &ops, const Value *input) {
  for (const Op *op : ops) {
    bool reads = std::find(op->operands.begin(), op->operands.end(), input) != op->operands.end();
    if (!reads)
      continue;
    if (!hasTrait(op->kind, kElementwise) || !(op->result.type.shape == input->type.shape))
      return false;
  }
  return true;
}

} // namespace

/// What the phases of planning hand on to each other.
struct MemoryPlan::Work {
  std::vector<std::vector<const Op *>> kernelOps;     ///< each kernel's ops, in order
  std::unordered_map<const Value *, size_t> kernelOf; ///< the kernel that computes a value
  std::unordered_map<const Value *, size_t> lastUse;  ///< the last kernel that reads a value
  std::unordered_set<const Value *> readOutside;      ///< values read by another kernel
  const SymbolBindings *bindings = nullptr;
  std::string error; ///< set when a loop's body cannot be planned
};

std::optional<MemoryPlan> MemoryPlan::plan(const Function &fn, const SymbolBindings &bindings,
                                           const Target &target, std::string &error) {
  MemoryPlan plan;
  Work work;
  work.bindings = &bindings;
  if (!plan.placeValues(fn, bindings, error))
    return std::nullopt;
  plan.formKernels(fn, work);
  plan.findReaders(fn, work);
  plan.chooseStored(work);
  plan.allocate(target, work);
  if (!work.error.empty()) {
    error = work.error;
    return std::nullopt;
  }
  std::string limitError;
  if (!checkAllocation(DType::F32, {int64_t(plan.arenaBytes_ / 4)}, limitError)) {
    error = "the step's working memory: " + limitError;
    return std::nullopt;
  }
  return plan;
}

bool MemoryPlan::placeValues(const Function &fn, const SymbolBindings &bindings,
                             std::string &error) {
  auto place = [&](const Value *v) -> bool {
    std::optional<std::vector<int64_t>> shape = concreteShape(v->type.shape, bindings);
    if (!shape) {
      error = "a size of " + v->type.str() + " is unbound or too large";
      return false;
    }
    if (!checkAllocation(v->type.dtype, *shape, error))
      return false;
    ValueLayout l;
    l.shape = *shape;
    l.numel = 1;
    for (int64_t d : l.shape)
      l.numel *= d;
    l.bytes = size_t(l.numel) * dtypeSize(v->type.dtype);
    values_[v] = std::move(l);
    return true;
  };
  for (size_t i = 0; i < fn.args.size(); ++i) {
    if (!place(&fn.args[i]->value))
      return false;
    ValueLayout &l = values_[&fn.args[i]->value];
    l.place = Place::Argument;
    l.index = int(i);
  }
  for (const auto &op : fn.ops)
    if (!place(&op->result))
      return false;
  return true;
}

void MemoryPlan::formKernels(const Function &fn, Work &work) {
  // A run of ops of one group, or one op.
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const Op &op = *fn.ops[i];
    // The parts of one backward loop run as one kernel too (ir/Loops.h).
    bool joins = i > 0 && ((op.group >= 0 && fn.ops[i - 1]->group == op.group) ||
                           partsOfOneLoop(*fn.ops[i - 1], op));
    if (!joins) {
      KernelPlan k;
      k.firstOp = i;
      k.opCount = 0;
      kernels_.push_back(k);
      work.kernelOps.emplace_back();
    }
    kernels_.back().opCount++;
    work.kernelOps.back().push_back(&op);
    work.kernelOf[&op.result] = kernels_.size() - 1;
  }
}

void MemoryPlan::findReaders(const Function &fn, Work &work) {
  for (size_t k = 0; k < work.kernelOps.size(); ++k)
    for (const Op *op : work.kernelOps[k])
      for (const Value *v : op->operands) {
        auto def = work.kernelOf.find(v);
        bool external = def == work.kernelOf.end() || def->second != k;
        if (!external)
          continue;
        work.lastUse[v] = std::max(work.lastUse[v], k);
        work.readOutside.insert(v);
        std::vector<const Value *> &inputs = kernels_[k].inputs;
        if (std::find(inputs.begin(), inputs.end(), v) == inputs.end())
          inputs.push_back(v);
      }
  // A value returned twice lands in the first result's buffer.
  std::unordered_set<const Value *> returned;
  for (size_t j = 0; j < fn.results.size(); ++j) {
    const Value *v = fn.results[j].value;
    ValueLayout &l = values_.at(v);
    if (l.place == Place::Arena && !returned.count(v)) {
      l.place = Place::Result;
      l.index = int(j);
    }
    returned.insert(v);
  }
}

void MemoryPlan::chooseStored(const Work &work) {
  for (size_t k = 0; k < work.kernelOps.size(); ++k) {
    bool grouped =
        work.kernelOps[k].size() > 1 && familyOf(work.kernelOps[k][0]->kind) != OpFamily::Loop;
    for (const Op *op : work.kernelOps[k]) {
      ValueLayout &l = values_.at(&op->result);
      if (l.place == Place::Result || work.readOutside.count(&op->result) || !grouped)
        kernels_[k].stored.push_back(&op->result);
      else
        l.place = Place::Register;
      if (l.place != Place::Result)
        unplannedBytes_ += roundUp(l.bytes);
    }
  }
}

void MemoryPlan::allocate(const Target &target, Work &work) {
  // In kernel order; each buffer freed after its last reader.
  Arena arena(kStatusBytes);
  std::map<size_t, std::vector<const Value *>> freeAfter;
  for (size_t k = 0; k < work.kernelOps.size(); ++k) {
    KernelPlan &kernel = kernels_[k];
    const std::vector<const Op *> &ops = work.kernelOps[k];
    const Op &first = *ops.front();
    // Scratch: logsumexp's, or the result of an anchor kept in registers when
    // no stored value of the group can hold it.
    std::vector<std::vector<int64_t>> operandShapes;
    for (const Value *v : first.operands)
      operandShapes.push_back(values_.at(v).shape);
    size_t scratch = 0;
    bool loop = familyOf(first.kind) == OpFamily::Loop;
    if (loop) {
      std::optional<size_t> bytes =
          loopScratchBytes(first, operandShapes, *work.bindings, target, work.error);
      scratch = bytes.value_or(0);
    } else if (ops.size() == 1 || canAnchorGroup(first))
      scratch = scratchBytesFor(first, operandShapes, values_.at(&first.result), target);
    if (ops.size() > 1 && canAnchorGroup(first) &&
        values_.at(&first.result).place == Place::Register) {
      for (const Value *v : kernel.stored)
        if (v->type.dtype == first.result.type.dtype && !kernel.anchorBuffer)
          kernel.anchorBuffer = v;
      if (!kernel.anchorBuffer) {
        kernel.anchorRowsOffset = roundUp(scratch);
        scratch = kernel.anchorRowsOffset + values_.at(&first.result).bytes;
      }
    }
    // A loop's results outlive its (large) scratch: placed first, they do
    // not land above the hole the scratch leaves.
    kernel.scratchBytes = scratch;
    if (scratch && !loop)
      kernel.scratchOffset = arena.allocate(scratch);
    // In place: element-wise kernels only, over inputs that die here.
    bool elementwise = hasTrait(first.kind, kElementwise) || first.kind == OpKind::Constant ||
                       first.kind == OpKind::DimSize || first.kind == OpKind::Broadcast ||
                       first.kind == OpKind::OneHot;
    std::vector<const Value *> dying;
    if (elementwise)
      for (const Value *in : kernel.inputs) {
        const ValueLayout &l = values_.at(in);
        if (l.place == Place::Arena && work.lastUse[in] == k && readsElementwise(ops, in))
          dying.push_back(in);
      }
    for (const Value *v : kernel.stored) {
      ValueLayout &l = values_.at(v);
      if (l.place != Place::Arena)
        continue;
      BufferPlan buffer{v, 0, l.bytes, k, std::max(k, work.lastUse[v])};
      // Element i of the result lands exactly on element i of the input.
      auto reuse = std::find_if(dying.begin(), dying.end(), [&](const Value *in) {
        return values_.at(in).numel == l.numel &&
               dtypeSize(in->type.dtype) == dtypeSize(v->type.dtype);
      });
      if (reuse != dying.end()) {
        l.offset = values_.at(*reuse).offset;
        buffer.reuses = *reuse;
        kernel.overwrites.emplace_back(v, *reuse);
        dying.erase(reuse);
      } else {
        l.offset = arena.allocate(l.bytes);
      }
      buffer.offset = l.offset;
      buffers_.push_back(buffer);
      freeAfter[buffer.lastKernel].push_back(v);
    }
    if (scratch && loop)
      kernel.scratchOffset = arena.allocate(scratch);
    if (scratch)
      arena.release(kernel.scratchOffset, scratch);
    for (const Value *v : freeAfter[k]) {
      bool handedOver = std::any_of(buffers_.begin(), buffers_.end(),
                                    [&](const BufferPlan &b) { return b.reuses == v; });
      if (!handedOver)
        arena.release(values_.at(v).offset, values_.at(v).bytes);
    }
  }
  arenaBytes_ = arena.peak();
}

} // namespace nabla::codegen
