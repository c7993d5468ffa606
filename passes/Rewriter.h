//===- Rewriter.h - Replacing ops in one sweep -------------------*- C++ -*-===//
//
// Passes that replace values walk the ops once, in order. For each op the
// rewriter first points its operands at their replacements, then asks the
// pass for a replacement of the op's result: an existing value, or a new one
// made with builder(), which places new ops before the op being visited.
// Replaced ops stay in place until DCE removes them; results are redirected
// at the end. One sweep costs time linear in the number of ops.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"

#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace nabla::passes {

class Rewriter {
public:
  explicit Rewriter(ir::Function &fn);

  /// Visits every op; `visit` returns the value that replaces the op's
  /// result, or null to keep it. Returns whether anything was replaced.
  bool run(const std::function<ir::Value *(ir::Op &op)> &visit);

  /// Makes new ops before the op being visited, at its source position and
  /// in its fusion group.
  ir::Builder &builder() { return builder_; }

private:
  ir::Function &fn_;
  ir::Op *current_ = nullptr;
  ir::Builder builder_;
  std::unordered_map<const ir::Value *, ir::Value *> replaced_;
  std::unordered_set<const ir::Value *> emitted_; ///< values builder() created
};

/// The splat value of `v` when a constant op defines it.
std::optional<double> constantValue(const ir::Value *v);

} // namespace nabla::passes
