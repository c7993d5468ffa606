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
Value *one(B &b, Value *like) { return b.constant(1, like->type); }
/// [a > b] as a float mask, and friends.
Value *mask(B &b, OpKind kind, Value *a, Value *c) { return b.compare(kind, a, c); }
Value *zeroAt(B &b, Value *like) { return b.constant(0, like->type); }

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
  Value *wins = mask(b, strict, a, c);
  Value *ties = mask(b, OpKind::Eq, a, c);
  return b.same(OpKind::Add, {wins, b.same(OpKind::Mul, {ties, b.constant(0.5, a->type)})});
}

/// MatMul: C = op(A) op(B), op = transpose or not. With G = dC:
///   A B:     dA = G Bᵀ,      dB = Aᵀ G
///   Aᵀ B:    dA = B Gᵀ,      dB = A G
///   A Bᵀ:    dA = G B,       dB = Gᵀ A
///   Aᵀ Bᵀ:   dA = Bᵀ Gᵀ,     dB = Gᵀ Aᵀ
void matmulRule(B &b, Op &op, Value *g) {
  bool ta = op.attrs.transposeA, tb = op.attrs.transposeB;
  auto mm = [&](Value *l, Value *r, bool tl, bool tr, const TensorType &type) {
    Attrs a;
    a.transposeA = tl;
    a.transposeB = tr;
    return b.emit(OpKind::MatMul, {l, r}, type, a);
  };
  Value *a = x0(op), *c = x1(op);
  if (b.needs(a))
    b.contribute(a, ta ? mm(c, g, tb, true, a->type) : mm(g, c, false, !tb, a->type));
  if (b.needs(c))
    b.contribute(c, tb ? mm(g, a, true, ta, c->type) : mm(a, g, !ta, false, c->type));
}

/// Concat along an axis: each operand's gradient is its slice of g.
void concatRule(B &b, Op &op, Value *g) {
  Dim offset(0);
  for (Value *part : op.operands) {
    const Dim &size = part->type.shape[op.attrs.axis];
    if (b.needs(part)) {
      Attrs a;
      a.axis = op.attrs.axis;
      a.start = offset;
      b.contribute(part, b.emit(OpKind::Slice, {g}, part->type, a));
    }
    offset = *Dim::sum(offset, size);
  }
}

/// Slice: g in place, zeros around it (dx = concat(0, g, 0) along the axis).
void sliceRule(B &b, Op &op, Value *g) {
  Value *x = x0(op);
  int64_t axis = op.attrs.axis;
  const Dim &start = op.attrs.start;
  std::optional<Dim> rest = difference(x->type.shape[axis], *Dim::sum(start, g->type.shape[axis]));
  assert(rest && "the verifier checks that a slice fits");
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
  Attrs a;
  a.axis = axis;
  b.contribute(x, pieces.size() == 1 ? g : b.emit(OpKind::Concat, pieces, x->type, a));
}

/// max and min reductions: the gradient goes to the positions equal to the
/// result, split evenly among ties: dx = expand(g)·[x = expand(y)] / expand(Σ[x = expand(y)]).
void extremumRule(B &b, Op &op, Value *g) {
  Value *x = x0(op);
  const Attrs &r = op.attrs;
  Value *hit = mask(b, OpKind::Eq, x, b.expand(y(op), r.axes, r.keepdims, x->type.shape));
  Value *count = b.expand(b.reduceSum(hit, r.axes, r.keepdims), r.axes, r.keepdims, x->type.shape);
  Value *share = b.same(OpKind::Div, {hit, count});
  b.contribute(x, b.safeMul(b.expand(g, r.axes, r.keepdims, x->type.shape), share));
}

struct RuleEntry {
  OpKind kind;
  AdjointRule rule;
};

const RuleEntry kRules[] = {
    // y = -x:  dx = -g
    {OpKind::Neg, [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.same(OpKind::Neg, {g})); }},
    // y = e^x:  dx = g·y
    {OpKind::Exp, [](B &b, Op &op, Value *g) { b.contribute(x0(op), b.safeMul(g, y(op))); }},
    // y = ln x:  dx = g·(1/x)
    {OpKind::Log,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.safeMul(g, b.same(OpKind::Div, {one(b, g), x0(op)})));
     }},
    // y = √x:  dx = g·(1/(2y))   (inf at x = 0, as PyTorch)
    {OpKind::Sqrt,
     [](B &b, Op &op, Value *g) {
       Value *half = b.constant(0.5, g->type);
       b.contribute(x0(op), b.safeMul(g, b.same(OpKind::Div, {half, y(op)})));
     }},
    // y = |x|:  dx = g·sign(x), sign(x) = [x > 0] - [x < 0]   (0 at x = 0)
    {OpKind::Abs,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *zero = zeroAt(b, x);
       Value *sign = b.same(OpKind::Sub, {mask(b, OpKind::Gt, x, zero), mask(b, OpKind::Lt, x, zero)});
       b.contribute(x, b.safeMul(g, sign));
     }},
    // y = tanh x:  dx = g·(1 - y²)
    {OpKind::Tanh,
     [](B &b, Op &op, Value *g) {
       Value *y2 = b.same(OpKind::Mul, {y(op), y(op)});
       b.contribute(x0(op), b.safeMul(g, b.same(OpKind::Sub, {one(b, g), y2})));
     }},
    // y = σ(x):  dx = g·y(1 - y)
    {OpKind::Sigmoid,
     [](B &b, Op &op, Value *g) {
       Value *d = b.same(OpKind::Mul, {y(op), b.same(OpKind::Sub, {one(b, g), y(op)})});
       b.contribute(x0(op), b.safeMul(g, d));
     }},
    // y = max(x, 0):  dx = g where x > 0, else 0   (0 at x = 0)
    {OpKind::Relu,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       b.contribute(x, b.same(OpKind::Select, {mask(b, OpKind::Gt, x, zeroAt(b, x)), g, zeroAt(b, g)}));
     }},
    // y = ln(1 + e^x):  dx = g·σ(x)
    {OpKind::Softplus,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.safeMul(g, b.same(OpKind::Sigmoid, {x0(op)})));
     }},
    // y = x Φ(x):  dx = g·(Φ(x) + x φ(x)),  Φ(x) = ½(1 + erf(x/√2)),  φ(x) = e^(-x²/2) / √(2π)
    {OpKind::Gelu,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       auto c = [&](double v) { return b.constant(v, x->type); };
       Value *cdf = b.same(OpKind::Mul,
                           {c(0.5), b.same(OpKind::Add,
                                           {c(1), b.same(OpKind::Erf,
                                                         {b.same(OpKind::Mul, {x, c(M_SQRT1_2)})})})});
       Value *x2 = b.same(OpKind::Mul, {x, x});
       Value *pdf = b.same(OpKind::Mul,
                           {c(0.5 * M_2_SQRTPI * M_SQRT1_2),
                            b.same(OpKind::Exp, {b.same(OpKind::Mul, {c(-0.5), x2})})});
       Value *d = b.same(OpKind::Add, {cdf, b.same(OpKind::Mul, {x, pdf})});
       b.contribute(x, b.safeMul(g, d));
     }},
    // y = erf x:  dx = g·(2/√π) e^(-x²)
    {OpKind::Erf,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       Value *e = b.same(OpKind::Exp, {b.same(OpKind::Neg, {b.same(OpKind::Mul, {x, x})})});
       b.contribute(x, b.safeMul(g, b.same(OpKind::Mul, {b.constant(M_2_SQRTPI, x->type), e})));
     }},
    // y = sin x:  dx = g·cos x
    {OpKind::Sin,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.safeMul(g, b.same(OpKind::Cos, {x0(op)})));
     }},
    // y = cos x:  dx = g·(-sin x)
    {OpKind::Cos,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.safeMul(g, b.same(OpKind::Neg, {b.same(OpKind::Sin, {x0(op)})})));
     }},
    // y = x if x > 0 else αx:  dx = g where x > 0, else αg
    {OpKind::LeakyRelu,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       Value *scaled = b.same(OpKind::Mul, {g, b.constant(op.attrs.alpha, g->type)});
       b.contribute(x, b.same(OpKind::Select, {mask(b, OpKind::Gt, x, zeroAt(b, x)), g, scaled}));
     }},
    // y = x if x > 0 else α(e^x - 1):  dx = g·(1 if x > 0 else y + α)
    {OpKind::Elu,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op);
       Value *negative = b.same(OpKind::Add, {y(op), b.constant(op.attrs.alpha, x->type)});
       Value *d = b.same(OpKind::Select, {mask(b, OpKind::Gt, x, zeroAt(b, x)), one(b, x), negative});
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
         b.contribute(x1(op), b.same(OpKind::Neg, {g}));
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
       if (b.needs(a))
         b.contribute(a, b.safeMul(g, b.same(OpKind::Div, {one(b, c), c})));
       if (b.needs(c))
         b.contribute(c, b.safeMul(g, b.same(OpKind::Neg, {b.same(OpKind::Div, {y(op), c})})));
     }},
    // y = a^b:  da = g·b a^(b-1), db = g·y ln a
    {OpKind::Pow,
     [](B &b, Op &op, Value *g) {
       Value *a = x0(op), *e = x1(op);
       if (b.needs(a)) {
         Value *lower = b.same(OpKind::Pow, {a, b.same(OpKind::Sub, {e, one(b, e)})});
         b.contribute(a, b.safeMul(g, b.same(OpKind::Mul, {e, lower})));
       }
       if (b.needs(e))
         b.contribute(e, b.safeMul(g, b.same(OpKind::Mul, {y(op), b.same(OpKind::Log, {a})})));
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
       Value *m = x0(op), *zero = zeroAt(b, g);
       if (b.needs(op.operands[1]))
         b.contribute(op.operands[1], b.same(OpKind::Select, {m, g, zero}));
       if (b.needs(op.operands[2]))
         b.contribute(op.operands[2], b.same(OpKind::Select, {m, zero, g}));
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
       Attrs a;
       a.perm.resize(op.attrs.perm.size());
       for (size_t i = 0; i < op.attrs.perm.size(); ++i)
         a.perm[op.attrs.perm[i]] = int64_t(i);
       b.contribute(x0(op), b.emit(OpKind::Transpose, {g}, x0(op)->type, a));
     }},
    // y = concat(x_i):  dx_i = the slice of g where x_i went
    {OpKind::Concat, concatRule},
    // y = x[start : start + n] along an axis:  dx = zeros with g at [start : start + n]
    {OpKind::Slice, sliceRule},
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
       Value *shifted = b.same(OpKind::Sub, {x, b.expand(y(op), r.axes, r.keepdims, x->type.shape)});
       b.contribute(x, b.safeMul(b.expand(g, r.axes, r.keepdims, x->type.shape),
                                 b.same(OpKind::Exp, {shifted})));
     }},
    {OpKind::MatMul, matmulRule},
    // y = softmax(x):  dx = y·(g - Σ(g·y))
    {OpKind::Softmax,
     [](B &b, Op &op, Value *g) {
       std::vector<int64_t> axis = {op.attrs.axis};
       Value *dot = b.reduceSum(b.safeMul(g, y(op)), axis, true);
       Value *centered = b.same(OpKind::Sub, {g, b.broadcast(dot, g->type.shape)});
       b.contribute(x0(op), b.safeMul(centered, y(op)));
     }},
    // y = log_softmax(x):  dx = g - e^y·Σ g
    {OpKind::LogSoftmax,
     [](B &b, Op &op, Value *g) {
       Value *total = b.broadcast(b.reduceSum(g, {op.attrs.axis}, true), g->type.shape);
       Value *spread = b.safeMul(total, b.same(OpKind::Exp, {y(op)}));
       b.contribute(x0(op), b.same(OpKind::Sub, {g, spread}));
     }},
    // y = mean over rows of (logsumexp(z) - z[label]):  dz = g·(softmax(z) - onehot(label)) / B
    {OpKind::CrossEntropy,
     [](B &b, Op &op, Value *g) {
       Value *z = x0(op);
       const Shape &s = z->type.shape;
       Attrs rows;
       rows.axis = 1;
       Value *p = b.emit(OpKind::Softmax, {z}, z->type, rows);
       Attrs classes;
       assert(s[1].isConcrete() && "the verifier requires a known class count");
       classes.classes = s[1].coefficient();
       Value *target = b.emit(OpKind::OneHot, {x1(op)}, z->type, classes);
       Value *scale = b.same(OpKind::Div, {g, b.size(s[0], g->type)});
       b.contribute(z, b.safeMul(b.broadcast(scale, s), b.same(OpKind::Sub, {p, target})));
     }},
    // y = mean of max(x, 0) - x t + ln(1 + e^-|x|):  dx = g·(σ(x) - t)/N,  dt = g·(-x)/N
    {OpKind::BceWithLogits,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *t = x1(op);
       Value *scale =
           b.broadcast(b.same(OpKind::Div, {g, b.size(*numElements(x->type.shape), g->type)}),
                       x->type.shape);
       if (b.needs(x))
         b.contribute(x, b.safeMul(scale, b.same(OpKind::Sub, {b.same(OpKind::Sigmoid, {x}), t})));
       if (b.needs(t))
         b.contribute(t, b.safeMul(scale, b.same(OpKind::Neg, {x})));
     }},
    // y = conv2d(x, w):  dx = conv2d_backward_input(g, w),  dw = conv2d_backward_weight(x, g)
    {OpKind::Conv2d,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *w = x1(op);
       if (b.needs(x))
         b.contribute(x, b.emit(OpKind::Conv2dBackwardInput, {g, w}, x->type, op.attrs));
       if (b.needs(w))
         b.contribute(w, b.emit(OpKind::Conv2dBackwardWeight, {x, g}, w->type, op.attrs));
     }},
    // y = conv2d_backward_input(h, w) is linear in h and w, with <G, y> = <conv2d(G, w), h>:
    //   dh = conv2d(G, w),  dw = conv2d_backward_weight(G, h)
    {OpKind::Conv2dBackwardInput,
     [](B &b, Op &op, Value *g) {
       Value *h = x0(op), *w = x1(op);
       if (b.needs(h))
         b.contribute(h, b.emit(OpKind::Conv2d, {g, w}, h->type, op.attrs));
       if (b.needs(w))
         b.contribute(w, b.emit(OpKind::Conv2dBackwardWeight, {g, h}, w->type, op.attrs));
     }},
    // y = conv2d_backward_weight(x, h), with <G, y> = <conv2d(x, G), h>:
    //   dx = conv2d_backward_input(h, G),  dh = conv2d(x, G)
    {OpKind::Conv2dBackwardWeight,
     [](B &b, Op &op, Value *g) {
       Value *x = x0(op), *h = x1(op);
       if (b.needs(x))
         b.contribute(x, b.emit(OpKind::Conv2dBackwardInput, {h, g}, x->type, op.attrs));
       if (b.needs(h))
         b.contribute(h, b.emit(OpKind::Conv2d, {x, g}, h->type, op.attrs));
     }},
    // y = max_pool2d(x):  dx = each window's g split evenly among its maxima
    {OpKind::MaxPool2d,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.emit(OpKind::MaxPool2dBackward, {x0(op), g}, x0(op)->type, op.attrs));
     }},
    // y = max_pool2d_backward(x, h) is linear in h and piecewise constant in x:
    //   dh = max_pool2d_tangent(x, G),  dx = 0 (almost everywhere)
    {OpKind::MaxPool2dBackward,
     [](B &b, Op &op, Value *g) {
       b.contribute(x1(op), b.emit(OpKind::MaxPool2dTangent, {x0(op), g}, x1(op)->type, op.attrs));
     }},
    // y = max_pool2d_tangent(x, u) is its transpose:  du = max_pool2d_backward(x, G),  dx = 0
    {OpKind::MaxPool2dTangent,
     [](B &b, Op &op, Value *g) {
       b.contribute(x1(op), b.emit(OpKind::MaxPool2dBackward, {x0(op), g}, x1(op)->type, op.attrs));
     }},
    // y = avg_pool2d(x):  dx = each window's g spread evenly over it
    {OpKind::AvgPool2d,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.emit(OpKind::AvgPool2dBackward, {g}, x0(op)->type, op.attrs));
     }},
    // y = avg_pool2d_backward(h) is its transpose:  dh = avg_pool2d(G)
    {OpKind::AvgPool2dBackward,
     [](B &b, Op &op, Value *g) {
       b.contribute(x0(op), b.emit(OpKind::AvgPool2d, {g}, x0(op)->type, op.attrs));
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
