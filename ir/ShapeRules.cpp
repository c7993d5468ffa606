#include "ir/ShapeRules.h"
#include "ir/Loops.h"

#include <fmt/format.h>

#include <algorithm>

namespace nabla::ir {

namespace {

bool validAxis(int64_t axis, unsigned rank) { return axis >= 0 && axis < int64_t(rank); }

bool validAxes(const std::vector<int64_t> &axes, unsigned rank) {
  for (size_t i = 0; i < axes.size(); ++i)
    if (!validAxis(axes[i], rank) || (i > 0 && axes[i] <= axes[i - 1]))
      return false;
  return true;
}

/// The shape of a reduction's result.
Shape reducedShape(const Shape &in, const std::vector<int64_t> &axes, bool keepdims) {
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
    if (!reduced)
      out.push_back(in[d]);
    else if (keepdims)
      out.push_back(Dim(1));
  }
  return out;
}

std::optional<int64_t> concreteOf(const Dim &d) {
  if (!d.isConcrete())
    return std::nullopt;
  return d.coefficient();
}

/// A rule's verdict: what is wrong ("" if nothing), and the result type the
/// operands call for, or none where the result type is free (a constant's,
/// a broadcast's target) and the rule checked it itself.
struct Verdict {
  std::string problem;
  std::optional<TensorType> expected;
};

Verdict fits(TensorType expected) { return {"", std::move(expected)}; }
/// What is wrong, or "" for a free result type the rule has checked.
Verdict checked(std::string problem) { return {std::move(problem), std::nullopt}; }

Verdict expectedType(const Op &op);

/// constant: any type; dim_size: a float of a positive size.
Verdict leafRule(const Op &op) {
  const TensorType &r = op.result.type;
  if (op.kind == OpKind::DimSize && (!isFloat(r.dtype) || op.attrs.dim.coefficient() < 1))
    return checked("dim_size gives a floating-point value of a positive size");
  return checked("");
}

/// Operands of one type and a result of that type; a comparison gives a
/// float mask; select(mask, a, b) takes a's type.
Verdict elementwiseRule(const Op &op) {
  const auto &in = op.operands;
  const TensorType &a = in[0]->type;
  if (op.kind == OpKind::Select) {
    if (!(in[0]->type.shape == in[1]->type.shape) || !(in[1]->type == in[2]->type))
      return checked("the mask, a and b must have one shape, and a and b one type");
    return fits(in[1]->type);
  }
  for (const Value *v : in)
    if (!(v->type == a))
      return checked("operands must have one type (broadcasting is explicit in the IR)");
  TensorType expected = a;
  if (op.info().traits & kComparison) {
    if (!isFloat(op.result.type.dtype))
      return checked("a comparison gives a floating-point mask");
    expected.dtype = isFloat(a.dtype) ? a.dtype : op.result.type.dtype;
  }
  return fits(expected);
}

/// broadcast: a target the operand stretches to; reshape: as many
/// elements; slice: a part along one axis; transpose: permuted axes;
/// concat: sizes along the axis added up.
Verdict layoutRule(const Op &op, LayoutOp kind) {
  const auto &in = op.operands;
  const TensorType &a = in[0]->type;
  const TensorType &r = op.result.type;
  switch (kind) {
  case LayoutOp::Broadcast: {
    if (a.dtype != r.dtype || a.rank() > r.rank())
      return checked("broadcast keeps the dtype and cannot lower the rank");
    size_t lead = r.rank() - a.rank();
    for (size_t d = 0; d < a.rank(); ++d)
      if (!(a.shape[d] == r.shape[lead + d]) && !a.shape[d].isOne())
        return checked(
            fmt::format("dimension {} of the operand ({}) is neither 1 nor the result's ({})", d,
                        a.shape[d].str(), r.shape[lead + d].str()));
    return checked("");
  }
  case LayoutOp::Reshape: {
    auto na = numElements(a.shape), nr = numElements(r.shape);
    if (a.dtype != r.dtype || !na || !nr || !(*na == *nr))
      return checked("reshape keeps the dtype and the number of elements");
    return checked("");
  }
  case LayoutOp::Slice:
  case LayoutOp::Pad: {
    // The whole and the part: a slice takes the part of its operand, a pad
    // puts its operand as the part of its result.
    bool pad = kind == LayoutOp::Pad;
    const TensorType &whole = pad ? r : a, &part = pad ? a : r;
    const char *name = pad ? "pad" : "slice";
    int64_t axis = op.attrs.axis;
    if (a.dtype != r.dtype || a.rank() != r.rank() || !validAxis(axis, a.rank()))
      return checked(fmt::format("{} keeps the dtype and rank; the axis must be within it", name));
    for (unsigned d = 0; d < a.rank(); ++d)
      if (d != axis && !(a.shape[d] == r.shape[d]))
        return checked(fmt::format("{} keeps every dimension but the axis", name));
    const Dim &start = op.attrs.start, &size = part.shape[axis], &all = whole.shape[axis];
    bool inside;
    if (op.attrs.fromEnd) {
      // `start` elements back from the end; the part within them. The size
      // of a symbolic axis is checked when it is bound.
      inside = start.isConcrete() && size.isConcrete() &&
               size.coefficient() <= start.coefficient() &&
               (!all.isConcrete() || start.coefficient() <= all.coefficient());
    } else {
      auto end = Dim::sum(start, size);
      inside = start.coefficient() == 0 || (end && *end == all);
      if (!inside && end && end->symbols() == all.symbols())
        inside = end->coefficient() <= all.coefficient();
      if (!inside && start.isConcrete() && size.isConcrete() && !all.isConcrete())
        inside = true; // a number into a symbolic axis: checked when it is bound
    }
    if (!inside)
      return checked(fmt::format("the {} does not fit inside the {}", pad ? "operand" : "slice",
                                 pad ? "result" : "operand"));
    return checked("");
  }
  case LayoutOp::Transpose: {
    std::vector<int64_t> sorted = op.attrs.perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] != int64_t(i))
        return checked("perm must be a permutation of the operand's axes");
    if (sorted.size() != a.rank())
      return checked("perm must list every axis of the operand");
    TensorType expected{a.dtype, {}};
    for (int64_t p : op.attrs.perm)
      expected.shape.push_back(a.shape[p]);
    return fits(expected);
  }
  case LayoutOp::Concat: {
    if (a.rank() == 0 || !validAxis(op.attrs.axis, a.rank()))
      return checked("the axis must be within the operands' rank (1 or more)");
    TensorType expected = a;
    for (size_t k = 1; k < in.size(); ++k) {
      const TensorType &t = in[k]->type;
      if (t.dtype != a.dtype || t.rank() != a.rank())
        return checked("operands must have one dtype and rank");
      for (unsigned d = 0; d < a.rank(); ++d) {
        if (d == op.attrs.axis)
          continue;
        if (!(t.shape[d] == a.shape[d]))
          return checked("operands must agree off the concatenation axis");
      }
      std::optional<Dim> sum = Dim::sum(expected.shape[op.attrs.axis], t.shape[op.attrs.axis]);
      if (!sum)
        return checked("the sizes along the axis cannot be added into one size");
      expected.shape[op.attrs.axis] = *sum;
    }
    return fits(expected);
  }
  }
  return checked("");
}

/// The operand without its reduced axes (kept as 1 with keepdims).
Verdict reductionRule(const Op &op) {
  const TensorType &a = op.operands[0]->type;
  if (!validAxes(op.attrs.axes, a.rank()))
    return checked("axes must be distinct, increasing and within the operand's rank");
  return fits({a.dtype, reducedShape(a.shape, op.attrs.axes, op.attrs.keepdims)});
}

/// [..., M, K] x [..., K, N] -> [..., M, N], either side read transposed.
Verdict matmulRule(const Op &op) {
  const TensorType &a = op.operands[0]->type, &b = op.operands[1]->type;
  if (a.rank() < 2 || a.rank() != b.rank() || a.dtype != b.dtype)
    return checked("operands must have one dtype and one rank of 2 or more");
  unsigned r = a.rank();
  for (unsigned d = 0; d + 2 < r; ++d)
    if (!(a.shape[d] == b.shape[d]))
      return checked("batch dimensions must be equal");
  const Dim &m = op.attrs.transposeA ? a.shape[r - 1] : a.shape[r - 2];
  const Dim &ka = op.attrs.transposeA ? a.shape[r - 2] : a.shape[r - 1];
  const Dim &kb = op.attrs.transposeB ? b.shape[r - 1] : b.shape[r - 2];
  const Dim &n = op.attrs.transposeB ? b.shape[r - 2] : b.shape[r - 1];
  if (!(ka == kb))
    return checked(fmt::format("inner dimensions {} and {} differ", ka.str(), kb.str()));
  TensorType expected{a.dtype, Shape(a.shape.begin(), a.shape.end() - 2)};
  expected.shape.push_back(m);
  expected.shape.push_back(n);
  return fits(expected);
}

Verdict neuralRule(const Op &op, NeuralOp kind) {
  const auto &in = op.operands;
  const TensorType &a = in[0]->type;
  switch (kind) {
  case NeuralOp::Softmax:
  case NeuralOp::LogSoftmax:
    if (!validAxis(op.attrs.axis, a.rank()))
      return checked("the axis must be within the operand's rank");
    return fits(a);
  case NeuralOp::OneHot: {
    if (a.dtype != DType::I32 || op.attrs.classes < 1)
      return checked("one_hot takes i32 labels and classes >= 1");
    if (!isFloat(op.result.type.dtype))
      return checked("one_hot gives a floating-point result");
    TensorType expected{op.result.type.dtype, a.shape};
    expected.shape.push_back(Dim(op.attrs.classes));
    return fits(expected);
  }
  case NeuralOp::Argmax: {
    if (!isFloat(a.dtype) || !validAxis(op.attrs.axis, a.rank()))
      return checked("argmax takes floating-point scores and an axis within their rank");
    TensorType expected{DType::I32, a.shape};
    expected.shape.erase(expected.shape.begin() + op.attrs.axis);
    return fits(expected);
  }
  case NeuralOp::CrossEntropy: {
    const TensorType &labels = in[1]->type;
    if (!isFloat(a.dtype) || a.rank() != 2 || labels.dtype != DType::I32 || labels.rank() != 1 ||
        !(labels.shape[0] == a.shape[0]) || !a.shape[1].isConcrete())
      return checked("cross_entropy takes float logits [B, C] with a known C and i32 labels [B]");
    return fits({a.dtype, {}});
  }
  case NeuralOp::BceWithLogits:
    if (!(in[1]->type == a))
      return checked("operands must have one type");
    return fits({a.dtype, {}});
  }
  return checked("");
}

/// conv2d: x [N, C, H, W] and w [O, C, KH, KW] give [N, O, OH, OW]; its
/// derivatives give x's or w's type where conv2d of the two would give g's.
Verdict convolutionRule(const Op &op, ConvolutionOp kind) {
  const auto &in = op.operands;
  const TensorType &a = in[0]->type;
  switch (kind) {
  case ConvolutionOp::Conv2d: {
    const TensorType &w = in[1]->type;
    if (a.rank() != 4 || w.rank() != 4 || a.dtype != w.dtype || !(a.shape[1] == w.shape[1]))
      return checked("conv2d takes x [N, C, H, W] and w [O, C, KH, KW] of one dtype");
    TensorType expected{a.dtype, {a.shape[0], w.shape[0]}};
    for (int k = 0; k < 2; ++k) {
      auto size = concreteOf(a.shape[2 + k]), kernel = concreteOf(w.shape[2 + k]);
      if (!size || !kernel || op.attrs.stride[k] < 1 || op.attrs.padding[k] < 0)
        return checked("spatial sizes must be known, strides >= 1 and padding >= 0");
      int64_t out = windowOutputSize(*size, *kernel, op.attrs.stride[k], op.attrs.padding[k]);
      if (out < 1)
        return checked("the kernel is larger than the padded input");
      expected.shape.push_back(Dim(out));
    }
    return fits(expected);
  }
  case ConvolutionOp::Conv2dBackwardInput:
  case ConvolutionOp::Conv2dBackwardWeight: {
    // The result is the gradient of x (or w): conv2d of x with w must give g's type.
    bool forInput = kind == ConvolutionOp::Conv2dBackwardInput;
    const TensorType &g = forInput ? in[0]->type : in[1]->type;
    const TensorType &other = forInput ? in[1]->type : in[0]->type;
    const TensorType &x = forInput ? op.result.type : other;
    const TensorType &w = forInput ? other : op.result.type;
    Op forward;
    forward.kind = OpKind::Conv2d;
    Value xv, wv;
    xv.type = x;
    wv.type = w;
    forward.operands = {&xv, &wv};
    forward.attrs = op.attrs;
    Verdict conv = expectedType(forward);
    if (!conv.problem.empty())
      return conv;
    if (!(*conv.expected == g))
      return checked(fmt::format("conv2d of {} and {} gives {}, not the gradient's {}", x.str(),
                                 w.str(), conv.expected->str(), g.str()));
    return fits(op.result.type);
  }
  }
  return checked("");
}

/// Pools: [N, C, H, W] to [N, C, OH, OW]; their derivatives: the pooled
/// input's type, from gradients of the pooled type.
Verdict poolingRule(const Op &op, PoolingOp kind) {
  const auto &in = op.operands;
  const TensorType &a = in[0]->type;
  switch (kind) {
  case PoolingOp::MaxPool2d:
  case PoolingOp::AvgPool2d: {
    if (a.rank() != 4)
      return checked("pooling takes x [N, C, H, W]");
    TensorType expected{a.dtype, {a.shape[0], a.shape[1]}};
    for (int k = 0; k < 2; ++k) {
      auto size = concreteOf(a.shape[2 + k]);
      if (!size || op.attrs.window[k] < 1 || op.attrs.stride[k] < 1)
        return checked("spatial sizes must be known, windows and strides >= 1");
      int64_t out = windowOutputSize(*size, op.attrs.window[k], op.attrs.stride[k], 0);
      if (out < 1)
        return checked("the window is larger than the input");
      expected.shape.push_back(Dim(out));
    }
    return fits(expected);
  }
  case PoolingOp::MaxPool2dBackward:
  case PoolingOp::MaxPool2dTangent:
  case PoolingOp::AvgPool2dBackward: {
    // x (the pooled input) and g (pooled-shaped) for the backward ops; x and
    // u (x-shaped) for the tangent.
    const TensorType &x = kind == PoolingOp::AvgPool2dBackward ? op.result.type : in[0]->type;
    Op forward;
    forward.kind = OpKind::MaxPool2d;
    Value xv;
    xv.type = x;
    forward.operands = {&xv};
    forward.attrs = op.attrs;
    Verdict pooled = expectedType(forward);
    if (!pooled.problem.empty())
      return pooled;
    if (kind == PoolingOp::MaxPool2dTangent) {
      if (!(in[1]->type == x))
        return checked("the tangent must have the input's type");
      return fits(*pooled.expected);
    }
    const TensorType &g = kind == PoolingOp::AvgPool2dBackward ? in[0]->type : in[1]->type;
    if (!(g == *pooled.expected))
      return checked(fmt::format("pooling {} gives {}, not the gradient's {}", x.str(),
                                 pooled.expected->str(), g.str()));
    return fits(x);
  }
  }
  return checked("");
}

Verdict expectedType(const Op &op) {
  switch (op.info().family) {
  case OpFamily::Leaf: return leafRule(op);
  case OpFamily::Unary:
  case OpFamily::Binary:
  case OpFamily::Comparison:
  case OpFamily::Select: return elementwiseRule(op);
  case OpFamily::Layout: return layoutRule(op, asLayout(op.kind));
  case OpFamily::Reduction: return reductionRule(op);
  case OpFamily::MatMul: return matmulRule(op);
  case OpFamily::Neural: return neuralRule(op, asNeural(op.kind));
  case OpFamily::Convolution: return convolutionRule(op, asConvolution(op.kind));
  case OpFamily::Pooling: return poolingRule(op, asPooling(op.kind));
  case OpFamily::Loop: {
    std::string problem;
    std::optional<TensorType> type = loopResultType(op, problem);
    return type ? fits(*type) : checked(problem);
  }
  }
  return checked("");
}

} // namespace

std::string checkResultType(const Op &op) {
  Verdict v = expectedType(op);
  if (v.problem.empty() && v.expected && !(*v.expected == op.result.type))
    return fmt::format("the result should be {}, not {}", v.expected->str(), op.result.type.str());
  return v.problem;
}

} // namespace nabla::ir
