//===- SemaScan.cpp - scan(f, init, xs, extras..., axis, reverse) ---------===//
//
// language.md §11: h[t] = f(prev, xs[t along axis], extras...), visiting
// t = 0 .. T-1 (T-1 .. 0 with reverse=true), prev = init at the first visit;
// the result holds h[t] at position t along `axis`.
//
// This compiler expands the recurrence per step, as it expands a def at each
// call: T copies of f's graph, each slice of xs an index, the result a concat
// of the states. The gradient is then the adjoint pass's own, through every
// step: backpropagation through time. T must be known (at most
// kMaxScanSteps); a loop construct that keeps one copy of f for any T,
// symbolic ones included, is future work (docs/language.md).
//
//===----------------------------------------------------------------------===//
#include "frontend/SemaImpl.h"

#include <llvm/Support/Casting.h>

namespace nabla::sema {

namespace {
constexpr const char *kScanSignature = "scan(f, init, xs, extras..., axis=0, reverse=false)";
} // namespace

Value Sema::evalScan(const ast::CallExpr &e, Scope &scope) {
  std::vector<const ast::Argument *> positional;
  const ast::Argument *axisArg = nullptr, *reverseArg = nullptr;
  bool ok = true;
  for (const ast::Argument &a : e.args) {
    if (a.name.empty()) {
      positional.push_back(&a);
      continue;
    }
    const ast::Argument *&slot = a.name == "axis" ? axisArg : reverseArg;
    if (a.name != "axis" && a.name != "reverse") {
      error(a.nameLoc, "'scan' has no parameter named '{}'; its signature is {}", a.name,
            kScanSignature);
      ok = false;
    } else if (slot) {
      error(a.nameLoc, "argument '{}' of 'scan' is given twice", a.name);
      ok = false;
    } else {
      slot = &a;
    }
  }
  if (positional.size() < 3) {
    error(e.loc(), "scan needs f, init and xs; its signature is {}", kScanSignature);
    return Value::poison(e.loc());
  }
  // f names a def: its first parameter is the state, its second the slice.
  const ast::Expr &fExpr = *positional[0]->value;
  const ast::DefStmt *def = nullptr;
  if (const auto *name = llvm::dyn_cast<ast::NameExpr>(&fExpr))
    if (const Binding *b = lookup(scope, name->name); b && b->kind == BindingKind::Function)
      def = b->value.def;
  if (!def) {
    error(ast::beginLoc(fExpr),
          "scan's f must name a def (whose first parameter is the state and second the slice "
          "of xs), but this is {}",
          llvm::isa<ast::NameExpr>(fExpr) ? "not a def" : "an expression");
    return Value::poison(e.loc());
  }
  size_t extras = positional.size() - 3;
  if (def->params.size() != 2 + extras) {
    error(ast::beginLoc(fExpr),
          "'{}' takes {} parameter{}, but scan passes it {}: the state, the slice of xs and {} "
          "extra argument{}",
          def->name, def->params.size(), def->params.size() == 1 ? "" : "s", 2 + extras, extras,
          extras == 1 ? "" : "s");
    note(def->nameLoc, "'{}' is defined here", def->name);
    return Value::poison(e.loc());
  }
  std::vector<Value> values;
  for (const ast::Argument *a : positional)
    values.push_back(a == positional[0] ? Value() : eval(*a->value, scope));
  std::optional<double> axisValue = 0;
  if (axisArg)
    axisValue = evalNumber(*axisArg->value, scope, "scan's axis");
  bool reverse = false;
  if (reverseArg) {
    Value r = eval(*reverseArg->value, scope);
    if (r.kind == Value::Kind::Bool) {
      reverse = r.boolean;
    } else if (!r.isPoison()) {
      error(ast::beginLoc(*reverseArg->value),
            "scan's reverse must be true or false, but this is {}", r.describe());
      ok = false;
    }
  }
  if (!ok || !axisValue || scope.checkingOnly)
    return Value::poison(e.loc());
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i].isPoison())
      return Value::poison(e.loc());

  Node *init = values[1].kind == Value::Kind::Tensor ? values[1].node : nullptr;
  Node *xs = values[2].kind == Value::Kind::Tensor ? values[2].node : nullptr;
  if (!init || !xs) {
    const ast::Argument *bad = init ? positional[2] : positional[1];
    error(ast::beginLoc(*bad->value), "scan's {} must be a tensor{}, but this is {}",
          init ? "xs" : "init", init ? "" : " (such as zeros([B, H]))",
          (init ? values[2] : values[1]).describe());
    return Value::poison(e.loc());
  }
  int64_t rank = int64_t(xs->type.rank());
  int64_t axis = int64_t(*axisValue);
  if (*axisValue != double(axis) || axis < -rank || axis >= rank) {
    error(ast::beginLoc(*axisArg->value), "axis {} is out of range for xs, {} (rank {})",
          *axisValue, xs->type.str(), rank);
    noteOrigin(xs);
    return Value::poison(e.loc());
  }
  if (axis < 0)
    axis += rank;
  const Dim &length = xs->type.shape[size_t(axis)];
  if (!length.isConcrete()) {
    error(ast::beginLoc(*positional[2]->value),
          "scan expands its steps, so the length of xs along axis {} must be known, but it is "
          "the symbolic size {}",
          axis, length.str());
    noteOrigin(xs);
    return Value::poison(e.loc());
  }
  int64_t steps = length.coefficient();
  if (steps > SemaLimits::kMaxScanSteps) {
    error(ast::beginLoc(*positional[2]->value),
          "scan expands its steps, and xs has {} along axis {}: at most {} are allowed", steps,
          axis, SemaLimits::kMaxScanSteps);
    return Value::poison(e.loc());
  }

  // The result puts each state at position t along the axis.
  Shape one = init->type.shape;
  if (size_t(axis) > one.size()) {
    error(ast::beginLoc(*axisArg->value),
          "axis {} is past the axes of the state, {}: the result holds each state at position t "
          "along it",
          axis, init->type.str());
    return Value::poison(e.loc());
  }

  // The visits, each h[t] = f(prev, xs[t], extras...).
  std::vector<Node *> states(size_t(steps), nullptr);
  Node *prev = init;
  for (int64_t visit = 0; visit < steps; ++visit) {
    int64_t t = reverse ? steps - 1 - visit : visit;
    Node *slice = indexNode(xs, size_t(axis), t, e.loc());
    if (!slice)
      return Value::poison(e.loc());
    std::vector<Value> args = {Value::makeTensor(prev, e.loc()), Value::makeTensor(slice, e.loc())};
    args.insert(args.end(), values.begin() + 3, values.end());
    Value h = expandDef(*def, args, e.loc());
    if (h.isPoison())
      return Value::poison(e.loc());
    Node *state = tensorOf(h);
    if (!state || !(state->type == init->type)) {
      error(ast::beginLoc(fExpr),
            "'{}' returns {}, but scan's state is {} (the type of init): f must return the "
            "state's type",
            def->name, state ? state->type.str() : h.describe(), init->type.str());
      note(def->nameLoc, "'{}' is defined here", def->name);
      return Value::poison(e.loc());
    }
    states[size_t(t)] = prev = state;
  }

  // h[t] at position t along the axis: each state with the axis put back, joined.
  one.insert(one.begin() + axis, Dim(1));
  std::vector<Node *> parts;
  for (Node *state : states) {
    Node *r = newNode(Node::Kind::Op, TensorType{state->type.dtype, one}, e.loc());
    if (!r)
      return Value::poison(e.loc());
    r->op = Builtin::Reshape;
    r->operands = {state};
    parts.push_back(r);
  }
  Shape all = one;
  all[size_t(axis)] = Dim(steps);
  Node *joined = newNode(Node::Kind::Op, TensorType{init->type.dtype, all}, e.loc());
  if (!joined)
    return Value::poison(e.loc());
  joined->op = Builtin::Concat;
  joined->operands = parts;
  joined->attrs.axis = axis;
  return Value::makeTensor(joined, e.loc());
}

} // namespace nabla::sema
