#include "passes/ScanAdjoint.h"
#include "passes/Adjoint.h"
#include "passes/DeadCode.h"

#include "ir/Clone.h"
#include "ir/Loops.h"

#include <unordered_set>

namespace nabla::passes {

using namespace ir;

namespace {

/// Replaces every use of `from` in `fn` (operands and results) by `to`.
void replaceUses(Function &fn, const Value *from, Value *to) {
  for (auto &op : fn.ops)
    for (Value *&v : op->operands)
      if (v == from)
        v = to;
  for (Result &r : fn.results)
    if (r.value == from)
      r.value = to;
}

/// The ops of `fn` before `end` that the ops from `end` on, and the results,
/// need (directly or through other ops before `end`).
std::unordered_set<const Value *> neededBefore(const Function &fn, size_t end) {
  std::unordered_set<const Value *> needed;
  for (size_t i = end; i < fn.ops.size(); ++i)
    needed.insert(fn.ops[i]->operands.begin(), fn.ops[i]->operands.end());
  for (const Result &r : fn.results)
    needed.insert(r.value);
  for (size_t i = end; i-- > 0;)
    if (needed.count(&fn.ops[i]->result))
      needed.insert(fn.ops[i]->operands.begin(), fn.ops[i]->operands.end());
  return needed;
}

/// Adds an input argument named `base`, or `base`.1, .2, ... when the body
/// has that name already (the def's own parameters may be called anything).
Value *addInput(Function &fn, const std::string &base, const TensorType &type, SourceLoc loc) {
  std::string name = base;
  for (int k = 1; fn.findArgument(ArgRole::Input, name); ++k)
    name = base + "." + std::to_string(k);
  return &fn.addArgument(ArgRole::Input, name, type, loc)->value;
}

} // namespace

bool differentiateScan(AdjointBuilder &b, Op &op, Value *g, DiagnosticEngine &diags) {
  if (op.attrs.part != 0) { // a residual: only a scan_grad reads it
    diags.error(op.loc, "a second derivative through a scan is not supported");
    return false;
  }
  size_t extras = loopExtraCount(op);
  std::vector<int64_t> grads;
  for (size_t i = 0; i < 2 + extras; ++i)
    if (b.needs(op.operands[i]) && isFloat(op.operands[i]->type.dtype))
      grads.push_back(int64_t(i));
  if (grads.empty())
    return true;
  ScanGradLayout layout = scanGradLayout(extras, grads, 0);

  // The backward body: the step's forward ops again, then their adjoint
  // from h seeded with gh + carry.
  const Function &forward = *op.attrs.body;
  auto body = std::make_shared<Function>("body");
  ValueMap map = cloneInto(forward, *body);
  body->results.clear();
  size_t forwardOps = body->ops.size();
  Value *h = map.at(forward.results[0].value);
  const TensorType &state = op.operands[0]->type;
  Value *gh = addInput(*body, "gh", state, op.loc);
  Value *carry = addInput(*body, "carry", state, op.loc);
  std::vector<Value *> accs;
  for (size_t j : layout.accs) {
    const Value &extra = body->args[2 + j]->value;
    accs.push_back(addInput(*body, "acc." + extra.name, extra.type, op.loc));
  }
  Builder at(*body, op.loc);
  Value *seed = at.add(gh, carry);

  std::vector<Value *> wrt = {&body->args[0]->value};
  if (layout.xs)
    wrt.push_back(&body->args[1]->value);
  for (size_t j : layout.accs)
    wrt.push_back(&body->args[2 + j]->value);
  std::optional<std::vector<Value *>> d = backpropagate(*body, h, wrt, diags, seed);
  if (!d)
    return false;
  auto orZeros = [&](Value *v, const TensorType &type) { return v ? v : at.constant(0, type); };
  body->addResult(ResultRole::Output, "carry", orZeros((*d)[0], state));
  if (layout.xs)
    body->addResult(ResultRole::Output, "dx", orZeros((*d)[1], body->args[1]->value.type));
  for (size_t i = 0; i < accs.size(); ++i) {
    Value *dj = (*d)[(layout.xs ? 2 : 1) + i];
    body->addResult(ResultRole::Output, "acc" + std::to_string(i),
                    dj ? at.add(accs[i], dj) : accs[i]);
  }

  // What the adjoint reads of the forward ops comes, where it is costly to
  // compute again, from the forward loop: h is the visit's state, which hs
  // holds; the results of matmuls and convolutions (kAnchor ops) become
  // residuals, stacked by the forward loop. What else the adjoint reads is
  // computed again from them, element-wise.
  Value *hArg = addInput(*body, "h", state, op.loc);
  replaceUses(*body, h, hArg);
  std::unordered_map<const Value *, const Value *> original;
  for (const auto &[from, to] : map)
    original[to] = from;
  std::vector<const Value *> residuals; // of the forward body
  // From the last op back: a residual can leave the ops before it unneeded.
  for (size_t i = forwardOps; i-- > 0;) {
    Op &fop = *body->ops[i];
    if (!hasTrait(fop.kind, kAnchor) || !neededBefore(*body, forwardOps).count(&fop.result))
      continue;
    residuals.push_back(original.at(&fop.result));
    std::string name =
        "r." + (fop.result.name.empty() ? std::to_string(residuals.size()) : fop.result.name);
    replaceUses(*body, &fop.result, addInput(*body, name, fop.result.type, fop.loc));
  }
  removeDeadOps(*body);

  // The forward loop stacks the residuals too, time-major, and the states
  // when hs is not (part -1): its body returns them after the state, and one
  // scan op per residual (a part of the same loop) holds them. A body
  // extended by an earlier differentiation keeps its results; these follow.
  std::vector<Value *> parts;
  if (!residuals.empty()) {
    auto extended = std::make_shared<Function>(forward.name);
    ValueMap m = cloneInto(forward, *extended);
    size_t first = forward.results.size();
    for (size_t i = 0; i < residuals.size(); ++i)
      extended->addResult(ResultRole::Output, "r" + std::to_string(first + i), m.at(residuals[i]));
    op.attrs.body = extended;
    for (size_t i = 0; i < residuals.size(); ++i) {
      Attrs a = op.attrs;
      a.part = int64_t(first + i);
      const TensorType &r = residuals[i]->type;
      parts.push_back(b.create(OpKind::Scan, op.operands,
                               {r.dtype, stackedShape(r.shape, 0, loopLength(op))}, a));
    }
  }
  Value *states = &op.result;
  if (op.attrs.axis != 0) {
    Attrs a = op.attrs;
    a.part = -1;
    states = b.create(OpKind::Scan, op.operands,
                      {state.dtype, stackedShape(state.shape, 0, loopLength(op))}, a);
  }
  std::vector<Value *> operands(op.operands.begin(), op.operands.end());
  operands.push_back(states);
  operands.push_back(g);
  operands.insert(operands.end(), parts.begin(), parts.end());

  // One scan_grad per gradient, all of one loop; contributed once all exist
  // so that the sums of fan-out do not come between them.
  std::shared_ptr<const Function> shared = std::move(body);
  std::vector<Value *> results;
  for (int64_t i : grads) {
    Attrs a;
    a.axis = op.attrs.axis;
    a.reverse = op.attrs.reverse;
    a.body = shared;
    a.part = i;
    a.grads = grads;
    a.residuals = int64_t(residuals.size());
    results.push_back(b.create(OpKind::ScanGrad, operands, op.operands[size_t(i)]->type, a));
  }
  for (size_t k = 0; k < grads.size(); ++k)
    b.contribute(op.operands[size_t(grads[k])], results[k]);
  return true;
}

} // namespace nabla::passes
