#include "ir/Groups.h"

#include <fmt/format.h>

#include <unordered_set>

namespace nabla::ir {

bool canAnchorGroup(const Op &op) {
  if (!hasTrait(op.kind, kAnchor))
    return false;
  // A softmax anchors only along its rows.
  if (op.kind == OpKind::Softmax || op.kind == OpKind::LogSoftmax)
    return op.attrs.axis + 1 == int64_t(op.result.type.rank());
  return true;
}

bool isGroupElementOp(const Op &op) {
  return hasTrait(op.kind, kElementwise) || hasTrait(op.kind, kCheapLeaf);
}

std::string checkGroup(const std::vector<const Op *> &ops) {
  if (ops.empty())
    return "a fused group is empty";
  const Shape &shape = ops.back()->result.type.shape;
  std::unordered_set<const Value *> inside;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op &op = *ops[i];
    bool anchor = i == 0 && canAnchorGroup(op);
    if (!anchor && !isGroupElementOp(op))
      return fmt::format("'{}' cannot be computed element by element in a fused group{}",
                         op.info().name, canAnchorGroup(op) ? " (it may only come first)" : "");
    if (!(op.result.type.shape == shape))
      return fmt::format("'{}' gives {}, but the fused group computes {}", op.info().name,
                         op.result.type.str(), TensorType{op.result.type.dtype, shape}.str());
    for (const Value *v : op.operands) {
      if (anchor || !inside.count(v)) {
        // An external value: read element by element unless stretched or indexed.
        bool indexed = op.kind == OpKind::Broadcast || op.kind == OpKind::OneHot || anchor;
        if (!indexed && !(v->type.shape == shape))
          return fmt::format("'{}' reads an external value of shape {} in a fused group of {}",
                             op.info().name, v->type.str(),
                             TensorType{op.result.type.dtype, shape}.str());
      } else if (op.kind == OpKind::Broadcast || op.kind == OpKind::OneHot) {
        return fmt::format("'{}' in a fused group must read a value from outside it",
                           op.info().name);
      }
    }
    inside.insert(&op.result);
  }
  return "";
}

std::vector<std::vector<const Op *>> groupsOf(const Function &fn) {
  std::vector<std::vector<const Op *>> groups;
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const Op &op = *fn.ops[i];
    if (op.group < 0)
      continue;
    if (i == 0 || fn.ops[i - 1]->group != op.group)
      groups.emplace_back();
    groups.back().push_back(&op);
  }
  return groups;
}

} // namespace nabla::ir
