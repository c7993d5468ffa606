#include "ir/Clone.h"

namespace nabla::ir {

ValueMap cloneInto(const Function &src, Function &dst) {
  ValueMap map;
  for (const auto &arg : src.args) {
    Argument *copy = dst.addArgument(arg->role, arg->value.name, arg->value.type, arg->loc);
    copy->init = arg->init;
    map[&arg->value] = &copy->value;
  }
  for (const auto &op : src.ops) {
    std::vector<Value *> operands;
    for (const Value *v : op->operands)
      operands.push_back(map.at(v));
    map[&op->result] =
        dst.append(op->kind, operands, op->result.type, op->attrs, op->loc, op->result.name);
    dst.ops.back()->group = op->group;
  }
  for (const Result &r : src.results)
    dst.addResult(r.role, r.name, map.at(r.value));
  return map;
}

} // namespace nabla::ir
