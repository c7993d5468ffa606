#include "passes/Adjoint.h"
#include "passes/AdjointRules.h"
#include "passes/ScanAdjoint.h"

#include "ir/Clone.h"

#include <unordered_map>
#include <unordered_set>

namespace nabla::passes {

using namespace ir;

namespace {

/// The values `f` must be differentiated through: those that depend on one
/// of `wrt` (not through a no-gradient op or an i32 value) and on which `f`
/// depends.
std::unordered_set<const Value *> valuesNeedingGradients(const Function &fn, const Value *f,
                                                         const std::vector<Value *> &wrt) {
  std::unordered_set<const Value *> dependsOnWrt;
  for (const Value *x : wrt)
    if (isFloat(x->type.dtype))
      dependsOnWrt.insert(x);
  for (const auto &op : fn.ops) {
    if (hasTrait(op->kind, kNoGrad) || !isFloat(op->result.type.dtype))
      continue;
    for (const Value *v : op->operands)
      if (dependsOnWrt.count(v)) {
        dependsOnWrt.insert(&op->result);
        break;
      }
  }
  std::unordered_set<const Value *> fDependsOn = {f};
  for (auto it = fn.ops.rbegin(); it != fn.ops.rend(); ++it)
    if (fDependsOn.count(&(*it)->result))
      for (const Value *v : (*it)->operands)
        fDependsOn.insert(v);
  std::unordered_set<const Value *> needs;
  for (const Value *v : dependsOnWrt)
    if (fDependsOn.count(v))
      needs.insert(v);
  return needs;
}

} // namespace

std::optional<std::vector<Value *>> backpropagate(Function &fn, Value *f,
                                                  const std::vector<Value *> &wrt,
                                                  DiagnosticEngine &diags, Value *seed) {
  size_t forwardOps = fn.ops.size();
  std::unordered_set<const Value *> needs = valuesNeedingGradients(fn, f, wrt);

  std::unordered_map<const Value *, Value *> gradients;
  AdjointBuilder builder(
      fn,
      [&](Value *operand, Value *gradient) {
        // Fan-out: the gradients reaching one value add up, each sum at
        // the position of the gradient it adds.
        Value *&slot = gradients[operand];
        Builder sum(fn, gradient->def ? gradient->def->loc : SourceLoc{});
        slot = slot ? sum.create(OpKind::Add, {slot, gradient}, operand->type) : gradient;
      },
      [&](const Value *v) { return needs.count(v) > 0; });

  // d f / d f = 1, at the position of f.
  builder.setLoc(f->def ? f->def->loc : SourceLoc{});
  gradients[f] = seed ? seed : builder.constant(1, f->type);
  for (size_t i = forwardOps; i-- > 0;) {
    Op &op = *fn.ops[i];
    auto g = gradients.find(&op.result);
    if (g == gradients.end() || !needs.count(&op.result))
      continue;
    builder.setLoc(op.loc);
    if (op.kind == OpKind::Scan) {
      if (!differentiateScan(builder, op, g->second, diags))
        return std::nullopt;
      continue;
    }
    if (op.kind == OpKind::ScanGrad) {
      diags.error(op.loc, "a second derivative through a scan is not supported: the gradient of "
                          "a scan is a loop the adjoint pass cannot differentiate again yet");
      return std::nullopt;
    }
    AdjointRule rule = adjointRule(op.kind);
    if (!rule) {
      diags.error(op.loc, "internal error: the adjoint pass has no rule for '{}'", op.info().name);
      return std::nullopt;
    }
    builder.setLoc(op.loc);
    rule(builder, op, g->second);
  }

  std::vector<Value *> result;
  for (Value *x : wrt) {
    auto found = gradients.find(x);
    result.push_back(found != gradients.end() && needs.count(x) ? found->second : nullptr);
  }
  return result;
}

Value *gradientOf(Function &fn, Value *f, Value *x, SourceLoc loc, DiagnosticEngine &diags) {
  std::optional<std::vector<Value *>> grads = backpropagate(fn, f, {x}, diags);
  if (!grads)
    return nullptr;
  if (Value *g = (*grads)[0])
    return g;
  // f does not depend on x.
  return Builder(fn, loc).constant(0, x->type);
}

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
  std::vector<Value *> params;
  for (const auto &arg : fn->args)
    if (arg->role == ArgRole::Param)
      params.push_back(&arg->value);
  std::optional<std::vector<Value *>> grads = backpropagate(*fn, loss, params, diags);
  if (!grads)
    return nullptr;

  Builder zeros(*fn);
  size_t p = 0;
  for (const auto &arg : fn->args) {
    if (arg->role != ArgRole::Param)
      continue;
    Value *grad = (*grads)[p++];
    if (!grad) { // the loss does not depend on this param
      zeros.setLoc(arg->loc);
      grad = zeros.constant(0, arg->value.type);
    }
    if (grad->name.empty())
      grad->name = arg->value.name + ".grad";
    fn->addResult(ResultRole::Grad, arg->value.name, grad);
  }
  return fn;
}

} // namespace nabla::passes
