//===- AdjointRules.cpp - The vector-Jacobian rule of every op ------------===//
//
// One entry per differentiable op, the math above it. Notation: g is the
// gradient of the result y; x, a, b are the operands; [c] is a 0/1 mask;
// "g·d" is safe_mul(g, d), the product that keeps a zero gradient zero even
// where d is inf or NaN (so `where` keeps the branch it did not choose out of
// every gradient). expand(g) stretches a reduction's gradient back over its
// operand; Σ sums over the reduced axes.
//
//===----------------------------------------------------------------------===//
#include "passes/AdjointRules.h"

#include <cassert>
#include <cmath>
#include <numeric>

namespace nabla::passes {

using namespace ir;
using B = AdjointBuilder;

namespace {

Value *x0(Op &op) { return op.operands[0]; }
Value *x1(Op &op) { return op.operands[1]; }
Value *y(Op &op) { return &op.result; }

/// The monomial a - b when both have the same symbols, else nothing.
std::optional<Dim> difference(const Dim &a, const Dim &b) {
  if (b.coefficient() == 0)
    return a;
  if (a.symbols() != b.symbols() || a.coefficient() < b.coefficient())
    return std::nullopt;
  return Dim::sum(a, *Dim::product(Dim(-1), b));
}

/// d(max(a, b))/da: [a > b] + ½[a = b]; ties split the gradient evenly.
Value *winnerMask(B &b, Value *a, Value *c, OpKind strict) {
  Value *wins = b.compare(strict, a, c);
  Value *ties = b.eq(a, c);
  return b.add(wins, b.scale(ties, 0.5));
}

/// [x > 0] as a float mask.
Value *positive(B &b, Value *x) {
  Value *zero = b.constant(0, x->type);
  return b.gt(x, zero);
}

/// MatMul: C = op(A) op(B), op = transpose or not. With G = dC:
///   A B:     dA = G Bᵀ,      dB = Aᵀ G
///   Aᵀ B:    dA = B Gᵀ,      dB = A G
///   A Bᵀ:    dA = G B,       dB = Gᵀ A
///   Aᵀ Bᵀ:   dA = Bᵀ Gᵀ,     dB = Gᵀ Aᵀ
void matmulRule(B &b, Op &op, Value *g) {
  bool ta = op.attrs.transposeA, tb = op.attrs.transposeB;
  Value *a = x0(op), *c = x1(op);
  if (b.needs(a))
    b.contribute(a, ta ? b.matmul(c, g, tb, true, a->type) : b.matmul(g, c, false, !tb, a->type));
  if (b.needs(c))
    b.contribute(c, tb ? b.matmul(g, a, true, ta, c->type) : b.matmul(a, g, !ta, false, c->type));
}

/// Concat along an axis: each operand's gradient is its slice of g.
void concatRule(B &b, Op &op, Value *g) {
  Dim offset(0);
  for (Value *part : op.operands) {
    const Dim &size = part->type.shape[op.attrs.axis];
    if (b.needs(part))
      b.contribute(part, b.slice(g, op.attrs.axis, offset, part->type));
    offset = *Dim::sum(offset, size);
  }
}

/// Slice: g in place, zeros around it (dx = concat(0, g, 0) along the axis;
/// pad(g) where the zeros' sizes are not sizes a type can write, as a
/// symbolic axis less a number).
void sliceRule(B &b, Op &op, Value *g) {
  Value *x = x0(op);
  int64_t axis = op.attrs.axis;
  const Dim &start = op.attrs.start;
  std::optional<Dim> end = Dim::sum(start, g->type.shape[axis]);
  std::optional<Dim> rest =
      op.attrs.fromEnd || !end ? std::nullopt : difference(x->type.shape[axis], *end);
  if (!rest) {
    b.contribute(x, b.create(OpKind::Pad, {g}, x->type, op.attrs));
    return;
  }
  std::vector<Value *> pieces;
  auto zeros = [&](const Dim &size) {
    TensorType t = x->type;
    t.shape[axis] = size;
    return b.constant(0, t);
  };
  if (start.coefficient() != 0)
    pieces.push_back(zeros(start));
  pieces.push_back(g);
  if (rest->coefficient() != 0)
    pieces.push_back(zeros(*rest));
  b.contribute(x, pieces.size() == 1 ? g : b.concat(pieces, axis, x->type));
}

/// Pad: its operand's gradient is the slice of g where the operand went.
void padRule(B &b, Op &op, Value *g) {
  b.contribute(x0(op), b.create(OpKind::Slice, {g}, x0(op)->type, op.attrs));
}

/// max and min reductions: the gradient goes to the positions equal to the
/// result, split evenly among ties: dx = expand(g)·[x = expand(y)] / expand(Σ[x = expand(y)]).
void extremumRule(B &b, Op &op, Value *g) {
  Value *x = x0(op);
  const Attrs &r = op.attrs;
  const Shape &shape = x->type.shape;
  Value *hit = b.eq(x, b.expand(y(op), r.axes, r.keepdims, shape));
  Value *count = b.expand(b.reduceSum(hit, r.axes, r.keepdims), r.axes, r.keepdims, shape);
  Value *share = b.div(hit, count);
  b.contribute(x, b.safeMul(b.expand(g, r.axes, r.keepdims, shape), share));
}

struct RuleEntry {
  OpKind kind;
  AdjointRule rule;
};

const RuleEntry kRules[] = {
    // y = -x:  dx = -g
    {OpKind::Neg, [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.neg(g)); }},
    // y = e^x:  dx = g·y
    {OpKind::Exp, [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.safeMul(g, y(op))); }},
    // y = ln x:  dx = g·(1/x)
    {OpKind::Log,
     [](B &b, Op &op, Value *g) {
       Value *one = b.constant(1, g->type);
       b.contribute(x0(op), b.safeMul(g, b.div(one, x0(op))));
     }},
    // y = √x:  dx = g·(1/(2y))   (inf at x = 0, as PyTorch)
    {OpKind::Sqrt,
     [](B &b, Op &op, Value *g) {
       Value *half = b.constant(0.5, g->type);
       b.contribute(x0(op), b.safeMul(g, b.div(half, y(op))));
     }},
    // y = |x|:  dx = g·sign(x), sign(x) = [x > 0] - [x < 0]   (0 at x = 0)
    {OpKind::Abs,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *zero = b.constant(0, x->type);
       Value *above = b.gt(x, zero);
       Value *below = b.lt(x, zero);
       b.contribute(x, b.safeMul(g, b.sub(above, below)));
     }},
    // y = tanh x:  dx = g·(1 - y²)
    {OpKind::Tanh,
     [](B &b, Op &op, Value *g) {
       Value *y2 = b.mul(y(op), y(op));
       Value *one = b.constant(1, g->type);
       b.contribute(x0(op), b.safeMul(g, b.sub(one, y2)));
     }},
    // y = σ(x):  dx = g·y(1 - y)
    {OpKind::Sigmoid,
     [](B &b, Op &op, Value *g) {
       Value *one = b.constant(1, g->type);
       b.contribute(x0(op), b.safeMul(g, b.mul(y(op), b.sub(one, y(op)))));
     }},
    // y = max(x, 0):  dx = g where x > 0, else 0   (0 at x = 0)
    {OpKind::Relu,
     [](B &b, Op &op, Value *g) {
       Value *mask = positive(b, x0(op));
       b.contribute(x0(op), b.select(mask, g, b.constant(0, g->type)));
     }},
    // y = ln(1 + e^x):  dx = g·σ(x)
    {OpKind::Softplus,
     [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.safeMul(g, b.sigmoid(x0(op)))); }},
    // y = x Φ(x):  dx = g·(Φ(x) + x φ(x)),  Φ(x) = ½(1 + erf(x/√2)),  φ(x) = e^(-x²/2) / √(2π)
    {OpKind::Gelu,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       auto c = [&](double v) { return b.constant(v, x->type); };
       Value *half = c(0.5), *one = c(1), *invSqrt2 = c(M_SQRT1_2);
       Value *cdf = b.mul(half, b.add(one, b.erf(b.mul(x, invSqrt2))));
       Value *x2 = b.mul(x, x);
       Value *invSqrt2Pi = c(0.5 * M_2_SQRTPI * M_SQRT1_2), *minusHalf = c(-0.5);
       Value *pdf = b.mul(invSqrt2Pi, b.exp(b.mul(minusHalf, x2)));
       b.contribute(x, b.safeMul(g, b.add(cdf, b.mul(x, pdf))));
     }},
    // y = erf x:  dx = g·(2/√π) e^(-x²)
    {OpKind::Erf,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       Value *e = b.exp(b.neg(b.mul(x, x)));
       Value *twoOverSqrtPi = b.constant(M_2_SQRTPI, x->type);
       b.contribute(x, b.safeMul(g, b.mul(twoOverSqrtPi, e)));
     }},
    // y = sin x:  dx = g·cos x
    {OpKind::Sin, [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.safeMul(g, b.cos(x0(op)))); }},
    // y = cos x:  dx = g·(-sin x)
    {OpKind::Cos,
     [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.safeMul(g, b.neg(b.sin(x0(op))))); }},
    // y = ln(1 + x):  dx = g·(1/(1 + x))
    {OpKind::Log1p,
     [](B &b, Op &op, Value *g) {
       Value *one = b.constant(1, g->type);
       b.contribute(x0(op), b.safeMul(g, b.div(one, b.add(one, x0(op)))));
     }},
    // y = e^x - 1:  dx = g·(y + 1)   (e^x, without computing it again)
    {OpKind::Expm1,
     [](B &b, Op &op, Value *g) {
       Value *one = b.constant(1, g->type);
       b.contribute(x0(op), b.safeMul(g, b.add(y(op), one)));
     }},
    // y = x if x > 0 else αx:  dx = g where x > 0, else αg
    {OpKind::LeakyRelu,
     [](B &b, Op &op, Value *g) {
       Value *scaled = b.scale(g, op.attrs.alpha);
       b.contribute(x0(op), b.select(positive(b, x0(op)), g, scaled));
     }},
    // y = x if x > 0 else α(e^x - 1):  dx = g·(1 if x > 0 else y + α)
    {OpKind::Elu,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       Value *negative = b.add(y(op), b.constant(op.attrs.alpha, x->type));
       Value *mask = positive(b, x);
       Value *d = b.select(mask, b.constant(1, x->type), negative);
       b.contribute(x, b.safeMul(g, d));
     }},
    // y = a + b:  da = g, db = g
    {OpKind::Add,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), g);
       b.contribute(x1(op), g);
     }},
    // y = a - b:  da = g, db = -g
    {OpKind::Sub,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), g);
       if (b.needs(x1(op)))
         b.contribute(x1(op), b.neg(g));
     }},
    // y = a b:  da = g·b, db = g·a   (safe_mul differentiates as a product)
    {OpKind::Mul,
     [](B &b, Op &op, Value *g) {
       if (b.needs(x0(op)))
         b.contribute(x0(op), b.safeMul(g, x1(op)));
       if (b.needs(x1(op)))
         b.contribute(x1(op), b.safeMul(g, x0(op)));
     }},
    {OpKind::SafeMul,
     [](B &b, Op &op, Value *g) {
       if (b.needs(x0(op)))
         b.contribute(x0(op), b.safeMul(g, x1(op)));
       if (b.needs(x1(op)))
         b.contribute(x1(op), b.safeMul(g, x0(op)));
     }},
    // y = a / b:  da = g·(1/b), db = -g·(y/b)
    {OpKind::Div,
     [](B &b, Op &op, Value *g) {
       Value *a = x0(op), *c = x1(op);
       if (b.needs(a)) {
         Value *one = b.constant(1, c->type);
         b.contribute(a, b.safeMul(g, b.div(one, c)));
       }
       if (b.needs(c))
         b.contribute(c, b.safeMul(g, b.neg(b.div(y(op), c))));
     }},
    // y = a^b:  da = g·b a^(b-1), db = g·y ln a
    {OpKind::Pow,
     [](B &b, Op &op, Value *g) {
       Value *a = x0(op), *e = x1(op);
       if (b.needs(a)) {
         Value *one = b.constant(1, e->type);
         Value *lower = b.pow(a, b.sub(e, one));
         b.contribute(a, b.safeMul(g, b.mul(e, lower)));
       }
       if (b.needs(e))
         b.contribute(e, b.safeMul(g, b.mul(y(op), b.log(a))));
     }},
    // y = max(a, b):  da = g·([a > b] + ½[a = b]), db = g·([a < b] + ½[a = b])
    {OpKind::Max,
     [](B &b, Op &op, Value *g) {
       if (b.needs(x0(op)))
         b.contribute(x0(op), b.safeMul(g, winnerMask(b, x0(op), x1(op), OpKind::Gt)));
       if (b.needs(x1(op)))
         b.contribute(x1(op), b.safeMul(g, winnerMask(b, x1(op), x0(op), OpKind::Gt)));
     }},
    // y = min(a, b):  da = g·([a < b] + ½[a = b]), db = g·([a > b] + ½[a = b])
    {OpKind::Min,
     [](B &b, Op &op, Value *g) {
       if (b.needs(x0(op)))
         b.contribute(x0(op), b.safeMul(g, winnerMask(b, x0(op), x1(op), OpKind::Lt)));
       if (b.needs(x1(op)))
         b.contribute(x1(op), b.safeMul(g, winnerMask(b, x1(op), x0(op), OpKind::Lt)));
     }},
    // y = select(m, a, b):  da = g where m, else 0;  db = 0 where m, else g
    {OpKind::Select,
     [](B &b, Op &op, Value *g) {
       Value *m = x0(op), *zero = b.constant(0, g->type);
       if (b.needs(op.operands[1]))
         b.contribute(op.operands[1], b.select(m, g, zero));
       if (b.needs(op.operands[2]))
         b.contribute(op.operands[2], b.select(m, zero, g));
     }},
    // y = broadcast(x):  dx = g summed over the stretched axes
    {OpKind::Broadcast,
     [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.sumTo(g, x0(op)->type.shape)); }},
    // y = reshape(x):  dx = reshape(g)
    {OpKind::Reshape,
     [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.reshape(g, x0(op)->type.shape)); }},
    // y = transpose(x, p):  dx = transpose(g, p⁻¹)
    {OpKind::Transpose,
     [](B &b, Op &op, Value *g) {
       std::vector<int64_t> inverse(op.attrs.perm.size());
       for (size_t i = 0; i < op.attrs.perm.size(); ++i)
         inverse[op.attrs.perm[i]] = int64_t(i);
       b.contribute(x0(op), b.transpose(g, inverse));
     }},
    // y = concat(x_i):  dx_i = the slice of g where x_i went
    {OpKind::Concat, concatRule},
    // y = x[start : start + n] along an axis:  dx = zeros with g at [start : start + n]
    {OpKind::Slice, sliceRule},
    // y = pad(x):  dx = the slice of g where x went
    {OpKind::Pad, padRule},
    // y = Σ x:  dx = expand(g)
    {OpKind::ReduceSum,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.expand(g, op.attrs.axes, op.attrs.keepdims, x0(op)->type.shape));
     }},
    // y = max x (min x):  dx = expand(g)·[x = y] / (number of positions equal to y)
    {OpKind::ReduceMax, extremumRule},
    {OpKind::ReduceMin, extremumRule},
    // y = ln Σ e^x:  dx = expand(g)·e^(x - expand(y))   (the softmax)
    {OpKind::LogSumExp,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       const Attrs &r = op.attrs;
       Value *shifted = b.sub(x, b.expand(y(op), r.axes, r.keepdims, x->type.shape));
       Value *spread = b.expand(g, r.axes, r.keepdims, x->type.shape);
       b.contribute(x, b.safeMul(spread, b.exp(shifted)));
     }},
    {OpKind::MatMul, matmulRule},
    // y = softmax(x):  dx = y·(g - Σ(g·y))
    {OpKind::Softmax,
     [](B &b, Op &op, Value *g) {
       Value *dot = b.reduceSum(b.safeMul(g, y(op)), {op.attrs.axis}, true);
       Value *centered = b.sub(g, b.broadcast(dot, g->type.shape));
       b.contribute(x0(op), b.safeMul(centered, y(op)));
     }},
    // y = log_softmax(x):  dx = g - e^y·Σ g
    {OpKind::LogSoftmax,
     [](B &b, Op &op, Value *g) {
       Value *total = b.broadcast(b.reduceSum(g, {op.attrs.axis}, true), g->type.shape);
       Value *spread = b.safeMul(total, b.exp(y(op)));
       b.contribute(x0(op), b.sub(g, spread));
     }},
    // y = mean over rows of (logsumexp(z) - z[label]):  dz = g·(softmax(z) - onehot(label)) / B
    {OpKind::CrossEntropy,
     [](B &b, Op &op, Value *g) {
       Value *z = x0(op);
       const Shape &s = z->type.shape;
       Attrs rows;
       rows.axis = 1;
       Value *p = b.create(OpKind::Softmax, {z}, z->type, rows);
       Attrs classes;
       assert(s[1].isConcrete() && "the verifier requires a known class count");
       classes.classes = s[1].coefficient();
       Value *target = b.create(OpKind::OneHot, {x1(op)}, z->type, classes);
       Value *scale = b.div(g, b.size(s[0], g->type));
       Value *perRow = b.broadcast(scale, s);
       b.contribute(z, b.safeMul(perRow, b.sub(p, target)));
     }},
    // y = mean of max(x, 0) - x t + ln(1 + e^-|x|):  dx = g·(σ(x) - t)/N,  dt = g·(-x)/N
    {OpKind::BceWithLogits,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *t = x1(op);
       Value *scale =
           b.broadcast(b.div(g, b.size(*numElements(x->type.shape), g->type)), x->type.shape);
       if (b.needs(x))
         b.contribute(x, b.safeMul(scale, b.sub(b.sigmoid(x), t)));
       if (b.needs(t))
         b.contribute(t, b.safeMul(scale, b.neg(x)));
     }},
    // y = conv2d(x, w):  dx = conv2d_backward_input(g, w),  dw = conv2d_backward_weight(x, g)
    {OpKind::Conv2d,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *w = x1(op);
       if (b.needs(x))
         b.contribute(x, b.create(OpKind::Conv2dBackwardInput, {g, w}, x->type, op.attrs));
       if (b.needs(w))
         b.contribute(w, b.create(OpKind::Conv2dBackwardWeight, {x, g}, w->type, op.attrs));
     }},
    // y = conv2d_backward_input(h, w) is linear in h and w, with <G, y> = <conv2d(G, w), h>:
    //   dh = conv2d(G, w),  dw = conv2d_backward_weight(G, h)
    {OpKind::Conv2dBackwardInput,
     [](B &b, Op &op, Value *g) {
       Value *h = x0(op), *w = x1(op);
       if (b.needs(h))
         b.contribute(h, b.create(OpKind::Conv2d, {g, w}, h->type, op.attrs));
       if (b.needs(w))
         b.contribute(w, b.create(OpKind::Conv2dBackwardWeight, {g, h}, w->type, op.attrs));
     }},
    // y = conv2d_backward_weight(x, h), with <G, y> = <conv2d(x, G), h>:
    //   dx = conv2d_backward_input(h, G),  dh = conv2d(x, G)
    {OpKind::Conv2dBackwardWeight,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *h = x1(op);
       if (b.needs(x))
         b.contribute(x, b.create(OpKind::Conv2dBackwardInput, {h, g}, x->type, op.attrs));
       if (b.needs(h))
         b.contribute(h, b.create(OpKind::Conv2d, {x, g}, h->type, op.attrs));
     }},
    // y = max_pool2d(x):  dx = each window's g split evenly among its maxima
    {OpKind::MaxPool2d,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op),
                    b.create(OpKind::MaxPool2dBackward, {x0(op), g}, x0(op)->type, op.attrs));
     }},
    // y = max_pool2d_backward(x, h) is linear in h and piecewise constant in x:
    //   dh = max_pool2d_tangent(x, G),  dx = 0 (almost everywhere)
    {OpKind::MaxPool2dBackward,
     [](B &b, Op &op, Value *g) {
       b.contribute(x1(op),
                    b.create(OpKind::MaxPool2dTangent, {x0(op), g}, x1(op)->type, op.attrs));
     }},
    // y = max_pool2d_tangent(x, u) is its transpose:  du = max_pool2d_backward(x, G),  dx = 0
    {OpKind::MaxPool2dTangent,
     [](B &b, Op &op, Value *g) {
       b.contribute(x1(op),
                    b.create(OpKind::MaxPool2dBackward, {x0(op), g}, x1(op)->type, op.attrs));
     }},
    // y = avg_pool2d(x):  dx = each window's g spread evenly over it
    {OpKind::AvgPool2d,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.create(OpKind::AvgPool2dBackward, {g}, x0(op)->type, op.attrs));
     }},
    // y = avg_pool2d_backward(h) is its transpose:  dh = avg_pool2d(G)
    {OpKind::AvgPool2dBackward,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.create(OpKind::AvgPool2d, {g}, x0(op)->type, op.attrs));
     }},
};

} // namespace

AdjointRule adjointRule(OpKind kind) {
  for (const RuleEntry &e : kRules)
    if (e.kind == kind)
      return e.rule;
  return nullptr;
}

} // namespace nabla::passes
