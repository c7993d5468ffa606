#include "passes/Rewriter.h"

namespace nabla::passes {

using namespace ir;

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
    Value *replacement = visit(*op);
    current_ = nullptr;
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

Value *Rewriter::emit(OpKind kind, std::vector<Value *> operands, const TensorType &type,
                      Attrs attrs) {
  Value *v = fn_.append(kind, std::move(operands), type, std::move(attrs),
                        current_ ? current_->loc : SourceLoc{});
  // A new op joins the fusion group of the op it helps replace.
  v->def->group = current_ ? current_->group : -1;
  emitted_.insert(v);
  return v;
}

Value *Rewriter::constant(double value, const TensorType &type) {
  Attrs a;
  a.value = value;
  return emit(OpKind::Constant, {}, type, a);
}

std::optional<double> constantValue(const Value *v) {
  if (!v->def || v->def->kind != OpKind::Constant)
    return std::nullopt;
  return v->def->attrs.value;
}

} // namespace nabla::passes
