#include "passes/DeadCode.h"

#include <unordered_set>

namespace nabla::passes {

using namespace ir;

bool removeDeadOps(Function &fn) {
  std::unordered_set<const Value *> live;
  for (const Result &r : fn.results)
    live.insert(r.value);
  for (auto it = fn.ops.rbegin(); it != fn.ops.rend(); ++it)
    if (live.count(&(*it)->result))
      for (const Value *v : (*it)->operands)
        live.insert(v);
  size_t before = fn.ops.size();
  std::erase_if(fn.ops, [&](const std::unique_ptr<Op> &op) { return !live.count(&op->result); });
  return fn.ops.size() != before;
}

bool removeUnusedInputs(Function &fn) {
  std::unordered_set<const Value *> used;
  for (const auto &op : fn.ops)
    for (const Value *v : op->operands)
      used.insert(v);
  for (const Result &r : fn.results)
    used.insert(r.value);
  size_t before = fn.args.size();
  std::erase_if(fn.args, [&](const std::unique_ptr<Argument> &a) {
    return a->role == ArgRole::Input && !used.count(&a->value);
  });
  return fn.args.size() != before;
}

} // namespace nabla::passes
