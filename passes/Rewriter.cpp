#include "passes/Rewriter.h"

namespace nabla::passes {

using namespace ir;

Rewriter::Rewriter(Function &fn) : fn_(fn), builder_(fn) {
  builder_.setOnCreate([this](Op &op) {
    // A new op joins the fusion group of the op it helps replace.
    op.group = current_ ? current_->group : -1;
    emitted_.insert(&op.result);
  });
}

bool Rewriter::run(const std::function<Value *(Op &op)> &visit) {
  std::vector<std::unique_ptr<Op>> old = std::move(fn_.ops);
  fn_.ops.clear();
  fn_.ops.reserve(old.size());
  bool changed = false;
  auto resolve = [&](Value *v) {
    auto it = replaced_.find(v);
    return it == replaced_.end() ? v : it->second;
  };
  for (std::unique_ptr<Op> &op : old) {
    for (Value *&v : op->operands)
      v = resolve(v);
    current_ = op.get();
    builder_.setLoc(op->loc);
    Value *replacement = visit(*op);
    current_ = nullptr;
    builder_.setLoc({});
    if (replacement && replacement != &op->result) {
      replaced_[&op->result] = replacement;
      // A new value that takes an op's place takes its name too.
      if (replacement->name.empty() && emitted_.count(replacement))
        replacement->name = op->result.name;
      changed = true;
    }
    fn_.ops.push_back(std::move(op));
  }
  for (Result &r : fn_.results)
    r.value = resolve(r.value);
  return changed;
}

std::optional<double> constantValue(const Value *v) {
  if (!v->def || v->def->kind != OpKind::Constant)
    return std::nullopt;
  return v->def->attrs.value;
}

} // namespace nabla::passes
