//===- MemoryPlan.h - Where each value of a step lives ----------*- C++ -*-===//
//
// With every symbolic size bound, the step is a list of kernels (a fusion
// group, or one op) and each value has a concrete shape. The plan decides
// where each value lives:
//
//   - arguments in the caller's tensors, and each result directly in the
//     caller's result tensor (copied only when one value is returned twice,
//     or an argument is returned);
//   - values that never leave their fusion group in registers, nowhere;
//   - every other value in one arena, at an offset reused once the value is
//     dead: buffers are allocated in kernel order, best fit, and freed after
//     their last reader; an element-wise kernel writes its result over an
//     operand of the same size that dies there (in place).
//
// The arena starts with the step's status (a kernel that finds a label out
// of range records it there).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Target.h"
#include "ir/IR.h"
#include "ir/Shapes.h"

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nabla::codegen {

/// What a kernel reports when it meets bad data (a label out of range).
struct StepStatus {
  int64_t failedOp = -1; ///< index of the op in the function, -1 when all went well
  int64_t position = 0;  ///< the element
  int64_t value = 0;     ///< the offending value
};

enum class Place {
  Argument, ///< the caller's argument tensor `index`
  Result,   ///< the caller's result tensor `index`
  Arena,    ///< the arena, at `offset`
  Register, ///< inside one fused kernel only
};

struct ValueLayout {
  std::vector<int64_t> shape;
  int64_t numel = 0;
  size_t bytes = 0;
  Place place = Place::Arena;
  int index = -1;    ///< argument or result index
  size_t offset = 0; ///< arena offset
};

/// One kernel: a fusion group or a single op.
struct KernelPlan {
  size_t firstOp = 0, opCount = 1;       ///< fn.ops[firstOp, firstOp + opCount)
  std::vector<const ir::Value *> stored; ///< values it writes to memory, in op order
  std::vector<const ir::Value *> inputs; ///< values it reads from memory, each once
  size_t scratchOffset = 0, scratchBytes = 0;
  /// A fused kernel's anchor that is not stored computes its rows into the
  /// buffer of this stored value of the group (each element is read before
  /// the epilogue writes it); null: into scratch space.
  const ir::Value *anchorBuffer = nullptr;
  /// Otherwise: where in the scratch space the anchor's rows go.
  size_t anchorRowsOffset = 0;
  /// Stored values written over an input that dies here (value, input): the
  /// kernel reads and writes that buffer through one pointer.
  std::vector<std::pair<const ir::Value *, const ir::Value *>> overwrites;
};

/// An arena buffer, for the memplan dump.
struct BufferPlan {
  const ir::Value *value;
  size_t offset, bytes;
  size_t firstKernel, lastKernel;    ///< written by the first, last read by the last
  const ir::Value *reuses = nullptr; ///< the input it overwrites in place, if any
};

class MemoryPlan {
public:
  /// The plan of `fn` under `bindings` for `target` (whose kernels may
  /// need scratch space of their own); nothing (and `error` set) when a
  /// size is unbound or memory would overflow.
  static std::optional<MemoryPlan> plan(const ir::Function &fn, const ir::SymbolBindings &bindings,
                                        const Target &target, std::string &error);

  const ValueLayout &of(const ir::Value *v) const { return values_.at(v); }
  const std::vector<KernelPlan> &kernels() const { return kernels_; }
  const std::vector<BufferPlan> &buffers() const { return buffers_; }
  /// Bytes of the arena: the status, the buffers at their peak, scratch.
  size_t arenaBytes() const { return arenaBytes_; }
  /// What every value an op computes (not a result) would take with a
  /// buffer of its own: the arena without fusion, reuse or planning.
  size_t unplannedBytes() const { return unplannedBytes_; }
  static constexpr size_t kStatusBytes = 64;

private:
  struct Work;
  // The five phases of plan(), in order.
  /// Every argument's and op result's concrete shape and bytes.
  bool placeValues(const ir::Function &fn, const ir::SymbolBindings &bindings, std::string &error);
  /// One kernel per run of ops of one fusion group, or per op.
  void formKernels(const ir::Function &fn, Work &work);
  /// Each kernel's inputs, each value's last reader, the results' places.
  void findReaders(const ir::Function &fn, Work &work);
  /// What each kernel stores; the rest of a group stays in registers.
  void chooseStored(const Work &work);
  /// Scratch space and arena buffers, in place over dying inputs where an
  /// element-wise kernel can, each freed after its last reader.
  void allocate(const Target &target, Work &work);

  std::unordered_map<const ir::Value *, ValueLayout> values_;
  std::vector<KernelPlan> kernels_;
  std::vector<BufferPlan> buffers_;
  size_t arenaBytes_ = 0, unplannedBytes_ = 0;
};

/// Bytes of scratch space `op` (alone, or anchoring a group) needs beyond
/// its result, given its operands' shapes.
size_t scratchBytesFor(const ir::Op &op, const std::vector<std::vector<int64_t>> &operands,
                       const ValueLayout &result, const Target &target);

} // namespace nabla::codegen
