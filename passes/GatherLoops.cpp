#include "passes/GatherLoops.h"
#include "ir/Loops.h"

namespace nabla::passes {

using namespace ir;

bool gatherLoopParts(Function &fn) {
  std::vector<const Op *> before;
  for (const auto &op : fn.ops)
    before.push_back(op.get());
  std::vector<std::unique_ptr<Op>> ordered;
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    if (!fn.ops[i])
      continue; // moved up to its loop's first part
    ordered.push_back(std::move(fn.ops[i]));
    const Op &first = *ordered.back();
    for (size_t j = i + 1; j < fn.ops.size() && familyOf(first.kind) == OpFamily::Loop; ++j)
      if (fn.ops[j] && partsOfOneLoop(first, *fn.ops[j]))
        ordered.push_back(std::move(fn.ops[j]));
  }
  fn.ops = std::move(ordered);
  for (size_t i = 0; i < before.size(); ++i)
    if (fn.ops[i].get() != before[i])
      return true;
  return false;
}

} // namespace nabla::passes
