//===- Layout.h - Where each value of a specialized step lives --*- C++ -*-===//
//
// With every symbolic size bound, each value has a concrete shape. Arguments
// live in the caller's tensors; every other value gets a 64-byte-aligned
// region of one arena; a few kernels get scratch space too. The first bytes
// of the arena hold the step's status (a kernel that finds a label out of
// range records it there).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/Interpreter.h"

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

struct ValueLayout {
  std::vector<int64_t> shape;
  int64_t numel = 0;
  size_t bytes = 0;
  int argument = -1; ///< index into the function's arguments, or -1
  size_t offset = 0; ///< arena offset when not an argument
};

class Layout {
public:
  /// Concrete shapes and arena offsets for `fn` under `bindings`; nothing
  /// (and `error` set) when a size is unbound or memory would overflow.
  static std::optional<Layout> plan(const ir::Function &fn, const ir::SymbolBindings &bindings,
                                    std::string &error);

  /// The layout of a value of the planned function (while it is alive).
  const ValueLayout &of(const ir::Value *v) const { return values_.at(index_.at(v)); }
  /// The layout of value `i`: the arguments in order, then the op results.
  const ValueLayout &at(size_t i) const { return values_.at(i); }
  size_t indexOf(const ir::Value *v) const { return index_.at(v); }
  /// Scratch space of op `index` (0 bytes for most ops).
  size_t scratchOffset(size_t index) const { return scratch_.at(index).first; }
  size_t scratchBytes(size_t index) const { return scratch_.at(index).second; }
  size_t arenaBytes() const { return arenaBytes_; }
  static constexpr size_t kStatusBytes = 64;

private:
  std::vector<ValueLayout> values_;
  std::unordered_map<const ir::Value *, size_t> index_;
  std::vector<std::pair<size_t, size_t>> scratch_;
  size_t arenaBytes_ = 0;
};

/// Bytes of scratch space `op` needs beyond its result.
size_t scratchBytesFor(const ir::Op &op, const ValueLayout &result);

} // namespace nabla::codegen
