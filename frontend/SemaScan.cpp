//===- SemaScan.cpp - scan(f, init, xs, extras..., axis, reverse) ---------===//
//
// language.md §11: h[t] = f(prev, xs[t along axis], extras...), visiting
// t = 0 .. T-1 (T-1 .. 0 with reverse=true), prev = init at the first visit;
// the result holds h[t] at position t along `axis`.
//
// f is expanded once, on placeholder nodes for its parameters (a state, a
// slice, each tensor extra): the nodes computed from them are the loop's
// body, which the lowering turns into the body function of one `scan` op
// (ir/Loops.h). T may be symbolic: it is bound, as B is, when a run's sizes
// are known, and the code does not grow with it.
//
//===----------------------------------------------------------------------===//
#include "frontend/SemaImpl.h"

#include <llvm/Support/Casting.h>

#include <algorithm>
#include <unordered_set>

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

  // The result puts each state at position t along the axis.
  Shape stacked = init->type.shape;
  if (size_t(axis) > stacked.size()) {
    error(ast::beginLoc(*axisArg->value),
          "axis {} is past the axes of the state, {}: the result holds each state at position t "
          "along it",
          axis, init->type.str());
    return Value::poison(e.loc());
  }
  stacked.insert(stacked.begin() + axis, length);

  // f once, on placeholders for the state, the slice and each tensor extra:
  // the body of the loop.
  size_t firstBodyNode = program_->nodes.size();
  std::vector<Node *> placeholders, operands = {init, xs};
  auto placeholder = [&](const TensorType &type, const ast::DefParam &param) -> Node * {
    Node *p = newNode(Node::Kind::BodyArg, type, param.loc);
    if (p) {
      p->name = param.name;
      placeholders.push_back(p);
    }
    return p;
  };
  Shape slice = xs->type.shape;
  slice.erase(slice.begin() + axis);
  Node *prev = placeholder(init->type, def->params[0]);
  Node *row = placeholder(TensorType{xs->type.dtype, slice}, def->params[1]);
  if (!prev || !row)
    return Value::poison(e.loc());
  std::vector<Value> args = {Value::makeTensor(prev, e.loc()), Value::makeTensor(row, e.loc())};
  for (size_t i = 3; i < values.size(); ++i) {
    Node *extra = tensorOf(values[i]);
    if (!extra) { // a number or a bool reaches f as it is
      args.push_back(values[i]);
      continue;
    }
    Node *p = placeholder(extra->type, def->params[i - 1]);
    if (!p)
      return Value::poison(e.loc());
    operands.push_back(extra);
    args.push_back(Value::makeTensor(p, e.loc()));
  }
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

  // What f computes from its placeholders is the body; what it reads from
  // outside (a param it names, a value computed from params only) is
  // captured: passed to the loop as one more operand.
  std::unordered_set<const Node *> inside(placeholders.begin(), placeholders.end());
  for (size_t i = firstBodyNode; i < program_->nodes.size(); ++i) {
    Node *n = program_->nodes[i].get();
    for (const Node *operand : n->operands)
      if (inside.count(operand)) {
        inside.insert(n);
        break;
      }
  }
  std::vector<Node *> captures;
  auto capture = [&](Node *n) {
    if (!inside.count(n) && n->kind != Node::Kind::Constant &&
        std::find(captures.begin(), captures.end(), n) == captures.end())
      captures.push_back(n);
  };
  for (size_t i = firstBodyNode; i < program_->nodes.size(); ++i)
    if (Node *n = program_->nodes[i].get(); inside.count(n))
      for (Node *operand : n->operands)
        capture(operand);
  capture(state);
  operands.insert(operands.end(), captures.begin(), captures.end());

  Node *scan = newNode(Node::Kind::Op, TensorType{init->type.dtype, stacked}, e.loc());
  if (!scan)
    return Value::poison(e.loc());
  scan->op = Builtin::Scan;
  scan->operands = std::move(operands);
  scan->attrs.axis = axis;
  scan->attrs.reverse = reverse;
  scan->attrs.bodyArgs = std::move(placeholders);
  scan->attrs.bodyResult = state;
  return Value::makeTensor(scan, e.loc());
}

} // namespace nabla::sema
