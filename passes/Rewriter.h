//===- Rewriter.h - Replacing ops in one sweep -------------------*- C++ -*-===//
//
// Passes that replace values walk the ops once, in order. For each op the
// rewriter first points its operands at their replacements, then asks the
// pass for a replacement of the op's result: an existing value, or a new one
// built with emit(), which places new ops before the op being visited.
// Replaced ops stay in place until DCE removes them; results are redirected
// at the end. One sweep costs time linear in the number of ops.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace nabla::passes {

class Rewriter {
public:
  explicit Rewriter(ir::Function &fn) : fn_(fn) {}

  /// Visits every op; `visit` returns the value that replaces the op's
  /// result, or null to keep it. Returns whether anything was replaced.
  bool run(const std::function<ir::Value *(ir::Op &op)> &visit);

  /// A new op placed before the op being visited, at its source position.
  ir::Value *emit(ir::OpKind kind, std::vector<ir::Value *> operands, const TensorType &type,
                  ir::Attrs attrs = {});
  /// A splat constant of `type`.
  ir::Value *constant(double value, const TensorType &type);

private:
  ir::Function &fn_;
  ir::Op *current_ = nullptr;
  std::unordered_map<const ir::Value *, ir::Value *> replaced_;
  std::unordered_set<const ir::Value *> emitted_; ///< values emit() created
};

/// The splat value of `v` when a constant op defines it.
std::optional<double> constantValue(const ir::Value *v);

} // namespace nabla::passes
