#include "frontend/Lower.h"
#include "ir/Builder.h"
#include "passes/Adjoint.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace nabla::ir {

namespace {

class Lowering {
public:
  Lowering(const Program &program, DiagnosticEngine &diags) : program_(program), diags_(diags) {}

  std::unique_ptr<Module> run();

private:
  /// The value of `n`, broadcast to `shape` (a constant is created there).
  Value *operand(const Node *n, const Shape &shape);
  /// The value of `n` at its own type.
  Value *operand(const Node *n) { return operand(n, n->type.shape); }
  /// `kind` (a reduction) over every axis of `v`.
  Value *reduceAll(OpKind kind, Value *v);

  /// False after an error.
  bool lowerNode(const Node &n);
  Value *lowerOp(const Node &n);
  Value *lowerMatMul(const Node &n);
  /// A scan op whose body function holds the nodes f computed (Sema's
  /// expansion of f on placeholders), lowered on their own.
  Value *lowerScan(const Node &n);

  const Program &program_;
  DiagnosticEngine &diags_;
  Function *fn_ = nullptr;
  /// Makes the ops, at the position of the node being lowered.
  std::optional<Builder> b_;
  std::unordered_map<const Node *, Value *> values_;
  /// pred - target of each mse: the residuals lm's Jacobian is taken of.
  std::unordered_map<const Node *, Value *> residuals_;
};

Value *Lowering::reduceAll(OpKind kind, Value *v) {
  Attrs a;
  for (unsigned d = 0; d < v->type.rank(); ++d)
    a.axes.push_back(d);
  return b_->create(kind, {v}, TensorType{v->type.dtype, {}}, a);
}

Value *Lowering::operand(const Node *n, const Shape &shape) {
  if (n->kind == Node::Kind::Constant) {
    SourceLoc saved = b_->loc();
    b_->setLoc(n->loc);
    Value *c = b_->constant(n->constant, TensorType{n->type.dtype, shape});
    b_->setLoc(saved);
    return c;
  }
  Value *v = values_.at(n);
  return b_->broadcast(v, shape);
}

Value *Lowering::lowerMatMul(const Node &n) {
  const Node *na = n.operands[0], *nb = n.operands[1];
  Value *a = operand(na), *b = operand(nb);
  DType dt = n.type.dtype;
  bool aVector = a->type.rank() == 1, bVector = b->type.rank() == 1;
  if (aVector)
    a = b_->reshape(a, {Dim(1), a->type.shape[0]});
  if (bVector)
    b = b_->reshape(b, {b->type.shape[0], Dim(1)});
  const Shape &sa = a->type.shape, &sb = b->type.shape;
  const Dim &m = sa[sa.size() - 2], &k = sa.back(), &nn = sb.back();
  Value *c;
  if (sb.size() == 2) {
    // [..., M, K] @ [K, N]: fold the batch into the rows.
    Shape batch(sa.begin(), sa.end() - 2);
    std::optional<Dim> rows = numElements(Shape(sa.begin(), sa.end() - 1));
    assert(rows && "Sema bounds every size");
    Value *a2 = b_->reshape(a, {*rows, k});
    Value *c2 = b_->create(OpKind::MatMul, {a2, b}, TensorType{dt, {*rows, nn}});
    batch.push_back(m);
    batch.push_back(nn);
    c = b_->reshape(c2, batch);
  } else {
    Shape batchA(sa.begin(), sa.end() - 2), batchB(sb.begin(), sb.end() - 2);
    Shape batch = *broadcastShapes(batchA, batchB);
    Shape shapeA = batch, shapeB = batch, shapeC = batch;
    shapeA.insert(shapeA.end(), {m, k});
    shapeB.insert(shapeB.end(), {k, nn});
    shapeC.insert(shapeC.end(), {m, nn});
    c = b_->create(OpKind::MatMul, {b_->broadcast(a, shapeA), b_->broadcast(b, shapeB)},
                   TensorType{dt, shapeC});
  }
  return b_->reshape(c, n.type.shape);
}

Value *Lowering::lowerScan(const Node &n) {
  const NodeAttrs &na = n.attrs;
  std::vector<Value *> operands;
  for (const Node *o : n.operands)
    operands.push_back(operand(o));

  // The body's arguments: the placeholders f was expanded on, then the
  // values it captured, each named once.
  auto body = std::make_shared<Function>("body");
  std::unordered_map<const Node *, Value *> bodyValues;
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < n.operands.size(); ++i) {
    const Node *p = i < na.bodyArgs.size() ? na.bodyArgs[i] : n.operands[i];
    std::string name = p->name.empty() ? "c" : p->name;
    for (int k = 1; !names.insert(name).second; ++k)
      name = (p->name.empty() ? "c" : p->name) + "." + std::to_string(k);
    bodyValues[p] = &body->addArgument(ArgRole::Input, name, p->type, p->loc)->value;
  }
  // The nodes f computed from them, in creation order.
  std::unordered_set<const Node *> inside;
  std::vector<const Node *> stack = {na.bodyResult};
  while (!stack.empty()) {
    const Node *v = stack.back();
    stack.pop_back();
    if (bodyValues.count(v) || v->kind != Node::Kind::Op || !inside.insert(v).second)
      continue;
    for (const Node *o : v->operands)
      stack.push_back(o);
  }
  std::vector<const Node *> ordered(inside.begin(), inside.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const Node *a, const Node *b) { return a->id < b->id; });

  Function *outer = fn_;
  std::unordered_map<const Node *, Value *> outerValues = std::move(values_);
  values_ = std::move(bodyValues);
  fn_ = body.get();
  b_.emplace(*fn_);
  bool ok = true;
  for (const Node *v : ordered)
    if (!(ok = lowerNode(*v)))
      break;
  if (ok) {
    b_->setLoc(na.bodyResult->loc);
    body->addResult(ResultRole::Output, "h", operand(na.bodyResult));
  }
  fn_ = outer;
  values_ = std::move(outerValues);
  b_.emplace(*fn_);
  b_->setLoc(n.loc);
  if (!ok)
    return nullptr;

  Attrs a;
  a.axis = na.axis;
  a.reverse = na.reverse;
  a.body = std::move(body);
  return b_->create(OpKind::Scan, operands, n.type, a);
}

Value *Lowering::lowerOp(const Node &n) {
  using B = Builtin;
  const NodeAttrs &na = n.attrs;
  const Shape &shape = n.type.shape;
  auto unary = [&](OpKind kind, Value *x, Attrs attrs = {}) {
    return b_->create(kind, {x}, x->type, std::move(attrs));
  };
  auto binary = [&](OpKind kind) {
    return b_->create(kind, {operand(n.operands[0], shape), operand(n.operands[1], shape)}, n.type);
  };
  auto withAxis = [&](OpKind kind) {
    Attrs a;
    a.axis = na.axis;
    return b_->create(kind, {operand(n.operands[0])}, n.type, a);
  };
  auto reduction = [&](OpKind kind) {
    Attrs a;
    a.axes = na.axes;
    a.keepdims = na.keepdims;
    return b_->create(kind, {operand(n.operands[0])}, n.type, a);
  };
  switch (n.op) {
  case B::Add: return binary(OpKind::Add);
  case B::Sub: return binary(OpKind::Sub);
  case B::Mul: return binary(OpKind::Mul);
  case B::Div: return binary(OpKind::Div);
  case B::Pow: return binary(OpKind::Pow);
  case B::Maximum: return binary(OpKind::Max);
  case B::Minimum: return binary(OpKind::Min);
  case B::Eq: return binary(OpKind::Eq);
  case B::Ne: return binary(OpKind::Ne);
  case B::Lt: return binary(OpKind::Lt);
  case B::Le: return binary(OpKind::Le);
  case B::Gt: return binary(OpKind::Gt);
  case B::Ge: return binary(OpKind::Ge);
  case B::Neg:
    return unary(OpKind::Neg, operand(n.operands[0]));
    // f(x), one to one: every NABLA_UNARY_BUILTIN row.
    // clang-format off
#define NABLA_UNARY_BUILTIN(Id, Name, Op) \
  case B::Id: return unary(OpKind::Op, operand(n.operands[0]));
#include "frontend/Builtins.def"
  // clang-format on
  case B::Square: {
    Value *x = operand(n.operands[0]);
    return b_->mul(x, x);
  }
  case B::Silu: { // x * sigmoid(x)
    Value *x = operand(n.operands[0]);
    return b_->mul(x, b_->sigmoid(x));
  }
  case B::Mish: { // x * tanh(softplus(x))
    Value *x = operand(n.operands[0]);
    Value *t = unary(OpKind::Tanh, unary(OpKind::Softplus, x));
    return b_->mul(x, t);
  }
  case B::LeakyRelu:
  case B::Elu: {
    Attrs a;
    a.alpha = na.alpha;
    return unary(n.op == B::Elu ? OpKind::Elu : OpKind::LeakyRelu, operand(n.operands[0]), a);
  }
  case B::Where:
    return b_->create(OpKind::Select,
                      {operand(n.operands[0], shape), operand(n.operands[1], shape),
                       operand(n.operands[2], shape)},
                      n.type);
  case B::StopGradient: return unary(OpKind::StopGradient, operand(n.operands[0]));
  case B::Clamp: { // min(max(x, lo), hi): hi wins where lo > hi, as in PyTorch
    Value *x = operand(n.operands[0], shape);
    Value *lo = operand(n.operands[1], shape);
    Value *floored = b_->create(OpKind::Max, {x, lo}, n.type);
    Value *hi = operand(n.operands[2], shape);
    return b_->create(OpKind::Min, {floored, hi}, n.type);
  }
  case B::MatMul: return lowerMatMul(n);
  case B::Transpose: {
    Attrs a;
    a.perm = na.perm;
    return b_->create(OpKind::Transpose, {operand(n.operands[0])}, n.type, a);
  }
  case B::Reshape:
  case B::Flatten: return b_->create(OpKind::Reshape, {operand(n.operands[0])}, n.type);
  case B::Concat: {
    std::vector<Value *> parts;
    for (const Node *p : n.operands)
      parts.push_back(operand(p));
    Attrs a;
    a.axis = na.axis;
    return b_->create(OpKind::Concat, parts, n.type, a);
  }
  case B::Sum: return reduction(OpKind::ReduceSum);
  case B::Max: return reduction(OpKind::ReduceMax);
  case B::Min: return reduction(OpKind::ReduceMin);
  case B::LogSumExp: return reduction(OpKind::LogSumExp);
  case B::Mean: { // sum / (the number of elements reduced)
    Value *sum = reduction(OpKind::ReduceSum);
    Dim count;
    for (int64_t axis : na.axes)
      count = *Dim::product(count, n.operands[0]->type.shape[axis]);
    return b_->create(OpKind::Div, {sum, b_->size(count, n.type)}, n.type);
  }
  case B::Softmax: return withAxis(OpKind::Softmax);
  case B::LogSoftmax: return withAxis(OpKind::LogSoftmax);
  case B::Argmax: return withAxis(OpKind::Argmax);
  case B::OneHot: {
    Attrs a;
    a.classes = na.classes;
    return b_->create(OpKind::OneHot, {operand(n.operands[0])}, n.type, a);
  }
  case B::Accuracy: { // mean(argmax(scores) == labels), labels as indices
    Value *scores = operand(n.operands[0]);
    Value *labels = operand(n.operands[1]);
    const Dim &rows = scores->type.shape[0];
    Attrs byRow;
    byRow.axis = 1;
    TensorType indices{DType::I32, {rows}};
    Value *predicted = b_->create(OpKind::Argmax, {scores}, indices, byRow);
    if (labels->type.dtype != DType::I32)
      labels = b_->create(OpKind::Argmax, {labels}, indices, byRow);
    Value *hits = b_->create(OpKind::Eq, {predicted, labels}, TensorType{n.type.dtype, {rows}});
    return b_->create(OpKind::Div, {reduceAll(OpKind::ReduceSum, hits), b_->size(rows, n.type)},
                      n.type);
  }
  case B::Mse: { // mean((pred - target)^2)
    Value *pred = operand(n.operands[0]);
    Value *target = operand(n.operands[1], pred->type.shape);
    Value *diff = b_->sub(pred, target);
    residuals_[&n] = diff;
    Value *squares = b_->mul(diff, diff);
    Dim count = *numElements(pred->type.shape);
    return b_->create(OpKind::Div, {reduceAll(OpKind::ReduceSum, squares), b_->size(count, n.type)},
                      n.type);
  }
  case B::CrossEntropy: {
    Value *logits = operand(n.operands[0]);
    Value *labels = operand(n.operands[1]);
    if (labels->type.dtype == DType::I32)
      return b_->create(OpKind::CrossEntropy, {logits, labels}, n.type);
    // Probabilities: -sum(labels * log_softmax(logits)) / rows.
    Attrs byRow;
    byRow.axis = 1;
    Value *logProbs = b_->create(OpKind::LogSoftmax, {logits}, logits->type, byRow);
    Value *weighted = b_->create(OpKind::Mul, {labels, logProbs}, logits->type);
    Value *mean = b_->create(
        OpKind::Div,
        {reduceAll(OpKind::ReduceSum, weighted), b_->size(logits->type.shape[0], n.type)}, n.type);
    return b_->create(OpKind::Neg, {mean}, n.type);
  }
  case B::Index: { // one slice per narrowed axis, then a reshape without the dropped ones
    Value *v = operand(n.operands[0]);
    for (size_t d = 0; d < na.lengths.size(); ++d) {
      if (na.lengths[d] < 0)
        continue;
      TensorType t = v->type;
      t.shape[d] = Dim(na.lengths[d]);
      if (na.starts[d] >= 0) {
        v = b_->slice(v, int64_t(d), Dim(na.starts[d]), t);
      } else { // from the end of a symbolic axis
        Attrs a;
        a.axis = int64_t(d);
        a.start = Dim(-na.starts[d]);
        a.fromEnd = true;
        v = b_->create(OpKind::Slice, {v}, t, a);
      }
    }
    return na.axes.empty() ? v : b_->reshape(v, shape);
  }
  case B::Zeros:
  case B::Ones: break; // Sema makes them Constant nodes
  case B::Grad:        // the adjoint pass's sweep from f, appended here
    return passes::gradientOf(*fn_, operand(n.operands[0]), values_.at(n.operands[1]), n.loc,
                              diags_);
  case B::Scan: return lowerScan(n);
  case B::BceWithLogits:
    return b_->create(OpKind::BceWithLogits, {operand(n.operands[0]), operand(n.operands[1])},
                      n.type);
  case B::Conv2d: {
    Attrs a;
    std::copy(na.stride, na.stride + 2, a.stride);
    std::copy(na.padding, na.padding + 2, a.padding);
    return b_->create(OpKind::Conv2d, {operand(n.operands[0]), operand(n.operands[1])}, n.type, a);
  }
  case B::MaxPool2d:
  case B::AvgPool2d: {
    Attrs a;
    std::copy(na.stride, na.stride + 2, a.stride);
    std::copy(na.window, na.window + 2, a.window);
    return b_->create(n.op == B::MaxPool2d ? OpKind::MaxPool2d : OpKind::AvgPool2d,
                      {operand(n.operands[0])}, n.type, a);
  }
  }
  assert(false && "a builtin without a lowering");
  return nullptr;
}

bool Lowering::lowerNode(const Node &n) {
  b_->setLoc(n.loc);
  switch (n.kind) {
  case Node::Kind::Input:
    values_[&n] = &fn_->addArgument(ArgRole::Input, n.name, n.type, n.loc)->value;
    return true;
  case Node::Kind::Param: {
    Argument *arg = fn_->addArgument(ArgRole::Param, n.name, n.type, n.loc);
    arg->init = program_.params[n.index].init;
    values_[&n] = &arg->value;
    return true;
  }
  case Node::Kind::Constant: return true; // created where it is used, at the shape it is used at
  case Node::Kind::BodyArg: return true;  // a scan's body argument, made with the body
  case Node::Kind::Op: {
    Value *v = lowerOp(n);
    if (!v)
      return false;
    if (v->def && v->name.empty())
      v->name = n.name;
    values_[&n] = v;
    return true;
  }
  }
  return true;
}

std::unique_ptr<Module> Lowering::run() {
  auto module = std::make_unique<Module>();
  module->train = program_.train;
  fn_ = module->addFunction(kForwardFunction);
  b_.emplace(*fn_);

  // What the results depend on; inputs and params are always kept.
  std::vector<const Node *> roots;
  for (const NamedResult &r : program_.outputs)
    roots.push_back(r.node);
  for (const NamedResult &r : program_.metrics)
    roots.push_back(r.node);
  if (program_.loss)
    roots.push_back(program_.loss);
  std::unordered_set<const Node *> live(roots.begin(), roots.end());
  for (auto it = program_.nodes.rbegin(); it != program_.nodes.rend(); ++it)
    if (live.count(it->get()))
      for (const Node *operand : (*it)->operands)
        live.insert(operand);

  for (const auto &node : program_.nodes)
    if (live.count(node.get()) || node->kind == Node::Kind::Input ||
        node->kind == Node::Kind::Param)
      if (!lowerNode(*node))
        return nullptr;

  auto resultValue = [&](const Node *n) {
    b_->setLoc(n->loc);
    return operand(n);
  };
  for (const NamedResult &r : program_.outputs)
    fn_->addResult(ResultRole::Output, r.name, resultValue(r.node));
  for (const NamedResult &r : program_.metrics)
    fn_->addResult(ResultRole::Metric, r.name, resultValue(r.node));
  if (program_.loss)
    fn_->addResult(ResultRole::Loss, "", resultValue(program_.loss));
  // Levenberg-Marquardt works on the residuals of the loss's mse (Sema
  // checked that the loss is one).
  const auto &train = program_.train;
  if (train && train->optimizer && train->optimizer->kind == OptimizerConfig::Kind::Lm &&
      residuals_.count(program_.loss))
    fn_->addResult(ResultRole::Residual, kResidualName, residuals_.at(program_.loss));
  return module;
}

} // namespace

std::unique_ptr<Module> lower(const Program &program, DiagnosticEngine &diags) {
  return Lowering(program, diags).run();
}

} // namespace nabla::ir
