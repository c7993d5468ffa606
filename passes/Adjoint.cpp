#include "passes/Adjoint.h"
#include "passes/AdjointRules.h"

#include "ir/Clone.h"

#include <unordered_map>
#include <unordered_set>

namespace nabla::passes {

using namespace ir;

namespace {

/// The values the loss must be differentiated through: those that depend on
/// a param (not through a no-gradient op or an i32 value) and on which the
/// loss depends.
std::unordered_set<const Value *> valuesNeedingGradients(const Function &fn, const Value *loss) {
  std::unordered_set<const Value *> dependsOnParam;
  for (const auto &arg : fn.args)
    if (arg->role == ArgRole::Param && isFloat(arg->value.type.dtype))
      dependsOnParam.insert(&arg->value);
  for (const auto &op : fn.ops) {
    if (hasTrait(op->kind, kNoGrad) || !isFloat(op->result.type.dtype))
      continue;
    for (const Value *v : op->operands)
      if (dependsOnParam.count(v)) {
        dependsOnParam.insert(&op->result);
        break;
      }
  }
  std::unordered_set<const Value *> lossDependsOn = {loss};
  for (auto it = fn.ops.rbegin(); it != fn.ops.rend(); ++it)
    if (lossDependsOn.count(&(*it)->result))
      for (const Value *v : (*it)->operands)
        lossDependsOn.insert(v);
  std::unordered_set<const Value *> needs;
  for (const Value *v : dependsOnParam)
    if (lossDependsOn.count(v))
      needs.insert(v);
  return needs;
}

} // namespace

Function *differentiate(Module &module, const Function &source, const std::string &name,
                        DiagnosticEngine &diags) {
  const Result *lossResult = source.findResult(ResultRole::Loss);
  if (!lossResult) {
    SourceLoc at = source.args.empty() ? SourceLoc{} : source.args[0]->loc;
    diags.error({at.file, 0, 0}, "the script has no 'loss': there is nothing to differentiate");
    return nullptr;
  }
  Function *fn = module.addFunction(name);
  cloneInto(source, *fn);
  // Gradients of an earlier differentiation are ordinary results now.
  Value *loss = fn->findResult(ResultRole::Loss)->value;
  size_t forwardOps = fn->ops.size();
  std::unordered_set<const Value *> needs = valuesNeedingGradients(*fn, loss);

  std::unordered_map<const Value *, Value *> gradients;
  AdjointBuilder builder(
      *fn,
      [&](Value *operand, Value *gradient) {
        // Fan-out: the gradients reaching one value add up, each sum at
        // the position of the gradient it adds.
        Value *&slot = gradients[operand];
        Builder sum(*fn, gradient->def ? gradient->def->loc : SourceLoc{});
        slot = slot ? sum.create(OpKind::Add, {slot, gradient}, operand->type) : gradient;
      },
      [&](const Value *v) { return needs.count(v) > 0; });

  builder.setLoc(loss->def ? loss->def->loc : SourceLoc{});
  gradients[loss] = builder.constant(1, loss->type);
  for (size_t i = forwardOps; i-- > 0;) {
    Op &op = *fn->ops[i];
    auto g = gradients.find(&op.result);
    if (g == gradients.end() || !needs.count(&op.result))
      continue;
    AdjointRule rule = adjointRule(op.kind);
    if (!rule) {
      diags.error(op.loc, "internal error: the adjoint pass has no rule for '{}'", op.info().name);
      return nullptr;
    }
    builder.setLoc(op.loc);
    rule(builder, op, g->second);
  }

  for (const auto &arg : fn->args) {
    if (arg->role != ArgRole::Param)
      continue;
    Value *grad = gradients.count(&arg->value) ? gradients[&arg->value] : nullptr;
    if (!grad) { // the loss does not depend on this param
      builder.setLoc(arg->loc);
      grad = builder.constant(0, arg->value.type);
    }
    if (grad->name.empty())
      grad->name = arg->value.name + ".grad";
    fn->addResult(ResultRole::Grad, arg->value.name, grad);
  }
  return fn;
}

} // namespace nabla::passes
