#include "ir/Labels.h"

#include <algorithm>

namespace nabla::ir {

int64_t classCount(const Function &fn, const Value *labels, const SymbolBindings &bindings) {
  int64_t classes = 0;
  for (const auto &op : fn.ops) {
    int64_t c = 0;
    if (op->kind == OpKind::CrossEntropy && op->operands[1] == labels &&
        labels->type.dtype == DType::I32) {
      std::optional<std::vector<int64_t>> logits =
          concreteShape(op->operands[0]->type.shape, bindings);
      c = logits ? (*logits)[1] : 0;
    } else if (op->kind == OpKind::OneHot && op->operands[0] == labels) {
      c = op->attrs.classes;
    }
    if (c > 0)
      classes = classes ? std::min(classes, c) : c;
  }
  return classes;
}

} // namespace nabla::ir
