#include "ir/Verifier.h"
#include "ir/Groups.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_set>

namespace nabla::ir {

namespace {

std::string typeList(const Op &op) {
  std::string out;
  for (const Value *v : op.operands)
    out += (out.empty() ? "" : ", ") + v->type.str();
  return out;
}

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

/// The expected result type of ops whose result follows from their operands;
/// nothing for ops whose result type is free (checked separately).
std::string expectType(const Op &op, TensorType &expected) {
  const auto &in = op.operands;
  const TensorType &a = in.empty() ? op.result.type : in[0]->type;
  switch (op.kind) {
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin:
  case OpKind::LogSumExp:
    if (!validAxes(op.attrs.axes, a.rank()))
      return "axes must be distinct, increasing and within the operand's rank";
    expected = {a.dtype, reducedShape(a.shape, op.attrs.axes, op.attrs.keepdims)};
    return "";
  case OpKind::Transpose: {
    std::vector<int64_t> sorted = op.attrs.perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] != int64_t(i))
        return "perm must be a permutation of the operand's axes";
    if (sorted.size() != a.rank())
      return "perm must list every axis of the operand";
    expected = {a.dtype, {}};
    for (int64_t p : op.attrs.perm)
      expected.shape.push_back(a.shape[p]);
    return "";
  }
  case OpKind::Concat: {
    if (a.rank() == 0 || !validAxis(op.attrs.axis, a.rank()))
      return "the axis must be within the operands' rank (1 or more)";
    expected = a;
    for (size_t k = 1; k < in.size(); ++k) {
      const TensorType &t = in[k]->type;
      if (t.dtype != a.dtype || t.rank() != a.rank())
        return "operands must have one dtype and rank";
      for (unsigned d = 0; d < a.rank(); ++d) {
        if (d == op.attrs.axis)
          continue;
        if (!(t.shape[d] == a.shape[d]))
          return "operands must agree off the concatenation axis";
      }
      std::optional<Dim> sum = Dim::sum(expected.shape[op.attrs.axis], t.shape[op.attrs.axis]);
      if (!sum)
        return "the sizes along the axis cannot be added into one size";
      expected.shape[op.attrs.axis] = *sum;
    }
    return "";
  }
  case OpKind::MatMul: {
    const TensorType &b = in[1]->type;
    if (a.rank() < 2 || a.rank() != b.rank() || a.dtype != b.dtype)
      return "operands must have one dtype and one rank of 2 or more";
    unsigned r = a.rank();
    for (unsigned d = 0; d + 2 < r; ++d)
      if (!(a.shape[d] == b.shape[d]))
        return "batch dimensions must be equal";
    const Dim &m = op.attrs.transposeA ? a.shape[r - 1] : a.shape[r - 2];
    const Dim &ka = op.attrs.transposeA ? a.shape[r - 2] : a.shape[r - 1];
    const Dim &kb = op.attrs.transposeB ? b.shape[r - 1] : b.shape[r - 2];
    const Dim &n = op.attrs.transposeB ? b.shape[r - 2] : b.shape[r - 1];
    if (!(ka == kb))
      return fmt::format("inner dimensions {} and {} differ", ka.str(), kb.str());
    expected = {a.dtype, Shape(a.shape.begin(), a.shape.end() - 2)};
    expected.shape.push_back(m);
    expected.shape.push_back(n);
    return "";
  }
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
    if (!validAxis(op.attrs.axis, a.rank()))
      return "the axis must be within the operand's rank";
    expected = a;
    return "";
  case OpKind::OneHot:
    if (a.dtype != DType::I32 || op.attrs.classes < 1)
      return "one_hot takes i32 labels and classes >= 1";
    if (!isFloat(op.result.type.dtype))
      return "one_hot gives a floating-point result";
    expected = {op.result.type.dtype, a.shape};
    expected.shape.push_back(Dim(op.attrs.classes));
    return "";
  case OpKind::Argmax:
    if (!isFloat(a.dtype) || !validAxis(op.attrs.axis, a.rank()))
      return "argmax takes floating-point scores and an axis within their rank";
    expected = {DType::I32, a.shape};
    expected.shape.erase(expected.shape.begin() + op.attrs.axis);
    return "";
  case OpKind::CrossEntropy: {
    const TensorType &labels = in[1]->type;
    if (!isFloat(a.dtype) || a.rank() != 2 || labels.dtype != DType::I32 || labels.rank() != 1 ||
        !(labels.shape[0] == a.shape[0]) || !a.shape[1].isConcrete())
      return "cross_entropy takes float logits [B, C] with a known C and i32 labels [B]";
    expected = {a.dtype, {}};
    return "";
  }
  case OpKind::BceWithLogits:
    if (!(in[1]->type == a))
      return "operands must have one type";
    expected = {a.dtype, {}};
    return "";
  case OpKind::Conv2d: {
    const TensorType &w = in[1]->type;
    if (a.rank() != 4 || w.rank() != 4 || a.dtype != w.dtype || !(a.shape[1] == w.shape[1]))
      return "conv2d takes x [N, C, H, W] and w [O, C, KH, KW] of one dtype";
    expected = {a.dtype, {a.shape[0], w.shape[0]}};
    for (int k = 0; k < 2; ++k) {
      auto size = concreteOf(a.shape[2 + k]), kernel = concreteOf(w.shape[2 + k]);
      if (!size || !kernel || op.attrs.stride[k] < 1 || op.attrs.padding[k] < 0)
        return "spatial sizes must be known, strides >= 1 and padding >= 0";
      int64_t out = windowOutputSize(*size, *kernel, op.attrs.stride[k], op.attrs.padding[k]);
      if (out < 1)
        return "the kernel is larger than the padded input";
      expected.shape.push_back(Dim(out));
    }
    return "";
  }
  case OpKind::Conv2dBackwardInput:
  case OpKind::Conv2dBackwardWeight: {
    // The result is the gradient of x (or w): conv2d of x with w must give g's type.
    bool forInput = op.kind == OpKind::Conv2dBackwardInput;
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
    TensorType conv;
    std::string problem = expectType(forward, conv);
    if (!problem.empty())
      return problem;
    if (!(conv == g))
      return fmt::format("conv2d of {} and {} gives {}, not the gradient's {}", x.str(), w.str(),
                         conv.str(), g.str());
    expected = op.result.type;
    return "";
  }
  case OpKind::MaxPool2dBackward:
  case OpKind::MaxPool2dTangent:
  case OpKind::AvgPool2dBackward: {
    // x (the pooled input) and g (pooled-shaped) for the backward ops; x and
    // u (x-shaped) for the tangent.
    const TensorType &x = op.kind == OpKind::AvgPool2dBackward ? op.result.type : in[0]->type;
    Op forward;
    forward.kind = OpKind::MaxPool2d;
    Value xv;
    xv.type = x;
    forward.operands = {&xv};
    forward.attrs = op.attrs;
    TensorType pooled;
    std::string problem = expectType(forward, pooled);
    if (!problem.empty())
      return problem;
    if (op.kind == OpKind::MaxPool2dTangent) {
      if (!(in[1]->type == x))
        return "the tangent must have the input's type";
      expected = pooled;
      return "";
    }
    const TensorType &g = op.kind == OpKind::AvgPool2dBackward ? in[0]->type : in[1]->type;
    if (!(g == pooled))
      return fmt::format("pooling {} gives {}, not the gradient's {}", x.str(), pooled.str(),
                         g.str());
    expected = x;
    return "";
  }
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d: {
    if (a.rank() != 4)
      return "pooling takes x [N, C, H, W]";
    expected = {a.dtype, {a.shape[0], a.shape[1]}};
    for (int k = 0; k < 2; ++k) {
      auto size = concreteOf(a.shape[2 + k]);
      if (!size || op.attrs.window[k] < 1 || op.attrs.stride[k] < 1)
        return "spatial sizes must be known, windows and strides >= 1";
      int64_t out = windowOutputSize(*size, op.attrs.window[k], op.attrs.stride[k], 0);
      if (out < 1)
        return "the window is larger than the input";
      expected.shape.push_back(Dim(out));
    }
    return "";
  }
  case OpKind::Constant:
  case OpKind::DimSize:
  case OpKind::Neg:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Sqrt:
  case OpKind::Abs:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Relu:
  case OpKind::Softplus:
  case OpKind::Gelu:
  case OpKind::Erf:
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::LeakyRelu:
  case OpKind::Elu:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::SafeMul:
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::Select:
  case OpKind::StopGradient:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Slice: break;
  }
  // Element-wise ops.
  if (op.info().traits & kElementwise) {
    if (op.kind == OpKind::Select) {
      if (!(in[0]->type.shape == in[1]->type.shape) || !(in[1]->type == in[2]->type))
        return "the mask, a and b must have one shape, and a and b one type";
      expected = in[1]->type;
      return "";
    }
    for (const Value *v : in)
      if (!(v->type == a))
        return "operands must have one type (broadcasting is explicit in the IR)";
    expected = a;
    if (op.info().traits & kComparison) {
      if (!isFloat(op.result.type.dtype))
        return "a comparison gives a floating-point mask";
      expected.dtype = isFloat(a.dtype) ? a.dtype : op.result.type.dtype;
    }
    return "";
  }
  return "free"; // constant, dim_size, broadcast, reshape, slice: checked below
}

/// Checks ops whose result type is not determined by their operands.
std::string checkFreeType(const Op &op) {
  const TensorType &r = op.result.type;
  switch (op.kind) {
  case OpKind::Constant: return "";
  case OpKind::DimSize:
    if (!isFloat(r.dtype) || op.attrs.dim.coefficient() < 1)
      return "dim_size gives a floating-point value of a positive size";
    return "";
  case OpKind::Broadcast: {
    const TensorType &a = op.operands[0]->type;
    if (a.dtype != r.dtype || a.rank() > r.rank())
      return "broadcast keeps the dtype and cannot lower the rank";
    size_t lead = r.rank() - a.rank();
    for (size_t d = 0; d < a.rank(); ++d)
      if (!(a.shape[d] == r.shape[lead + d]) && !a.shape[d].isOne())
        return fmt::format("dimension {} of the operand ({}) is neither 1 nor the result's ({})", d,
                           a.shape[d].str(), r.shape[lead + d].str());
    return "";
  }
  case OpKind::Reshape: {
    const TensorType &a = op.operands[0]->type;
    auto na = numElements(a.shape), nr = numElements(r.shape);
    if (a.dtype != r.dtype || !na || !nr || !(*na == *nr))
      return "reshape keeps the dtype and the number of elements";
    return "";
  }
  case OpKind::Slice: {
    const TensorType &a = op.operands[0]->type;
    int64_t axis = op.attrs.axis;
    if (a.dtype != r.dtype || a.rank() != r.rank() || !validAxis(axis, a.rank()))
      return "slice keeps the dtype and rank; the axis must be within it";
    for (unsigned d = 0; d < a.rank(); ++d)
      if (d != axis && !(a.shape[d] == r.shape[d]))
        return "slice keeps every dimension but the axis";
    auto end = Dim::sum(op.attrs.start, r.shape[axis]);
    bool fits = op.attrs.start.coefficient() == 0 || (end && *end == a.shape[axis]);
    if (!fits && end && end->symbols() == a.shape[axis].symbols())
      fits = end->coefficient() <= a.shape[axis].coefficient();
    if (!fits)
      return "the slice does not fit inside the operand";
    return "";
  }
  case OpKind::Neg:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Sqrt:
  case OpKind::Abs:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Relu:
  case OpKind::Softplus:
  case OpKind::Gelu:
  case OpKind::Erf:
  case OpKind::Sin:
  case OpKind::Cos:
  case OpKind::LeakyRelu:
  case OpKind::Elu:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::SafeMul:
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::Select:
  case OpKind::StopGradient:
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin:
  case OpKind::LogSumExp:
  case OpKind::MatMul:
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
  case OpKind::OneHot:
  case OpKind::Argmax:
  case OpKind::CrossEntropy:
  case OpKind::BceWithLogits:
  case OpKind::Conv2d:
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
  case OpKind::Conv2dBackwardInput:
  case OpKind::Conv2dBackwardWeight:
  case OpKind::MaxPool2dBackward:
  case OpKind::MaxPool2dTangent:
  case OpKind::AvgPool2dBackward: return "";
  }
}

} // namespace

std::string checkOp(const Op &op) {
  const OpInfo &info = op.info();
  if (info.arity >= 0 && op.operands.size() != size_t(info.arity))
    return fmt::format("'{}' takes {} operands, not {}", info.name, info.arity, op.operands.size());
  if (info.arity < 0 && op.operands.empty())
    return fmt::format("'{}' takes one or more operands", info.name);
  if (op.result.type.rank() > kMaxRank)
    return fmt::format("the result has more than {} dimensions", kMaxRank);
  if (info.traits & kFloat)
    for (const Value *v : op.operands)
      if (!isFloat(v->type.dtype))
        return fmt::format("'{}' takes floating-point operands, not {}", info.name, v->type.str());
  TensorType expected;
  std::string problem = expectType(op, expected);
  if (problem == "free")
    problem = checkFreeType(op);
  else if (problem.empty() && !(expected == op.result.type))
    problem = fmt::format("the result should be {}, not {}", expected.str(), op.result.type.str());
  if (!problem.empty())
    return fmt::format("'{}' ({}) -> {}: {}", info.name, typeList(op), op.result.type.str(),
                       problem);
  return "";
}

bool verify(const Function &fn, DiagnosticEngine &diags, std::string_view stage) {
  bool ok = true;
  auto fail = [&](SourceLoc loc, const std::string &message) {
    diags.error(loc, "invalid IR after {} in @{}: {}", stage, fn.name, message);
    ok = false;
  };
  std::unordered_set<const Value *> defined;
  std::set<std::string> symbols, argNames;
  for (const auto &arg : fn.args) {
    if (!argNames.insert(arg->value.name).second)
      fail(arg->loc, fmt::format("argument %{} is declared twice", arg->value.name));
    if (arg->role != ArgRole::Input && !isFloat(arg->value.type.dtype))
      fail(arg->loc,
           fmt::format("{} %{} must be floating-point", roleName(arg->role), arg->value.name));
    defined.insert(&arg->value);
    for (const Dim &d : arg->value.type.shape)
      for (const std::string &s : d.symbols())
        symbols.insert(s);
  }
  auto unbound = [&](const Dim &d) -> std::string {
    for (const std::string &s : d.symbols())
      if (!symbols.count(s))
        return s;
    return "";
  };
  for (const auto &op : fn.ops) {
    for (const Value *v : op->operands)
      if (!defined.count(v))
        fail(op->loc, fmt::format("an operand of '{}' is not defined before it in this function",
                                  op->info().name));
    std::string problem = checkOp(*op);
    if (!problem.empty())
      fail(op->loc, problem);
    for (const Dim &d : op->result.type.shape)
      if (std::string s = unbound(d); !s.empty())
        fail(op->loc, fmt::format("the size '{}' is not bound by any argument", s));
    if (std::string s = unbound(op->attrs.dim); !s.empty())
      fail(op->loc, fmt::format("the size '{}' is not bound by any argument", s));
    defined.insert(&op->result);
  }
  // Fusion groups: each a run of consecutive ops that one kernel can compute.
  std::set<int> groupsSeen;
  for (const std::vector<const Op *> &group : groupsOf(fn)) {
    if (!groupsSeen.insert(group[0]->group).second)
      fail(group[0]->loc,
           fmt::format("the ops of fused group {} are not consecutive", group[0]->group));
    if (std::string problem = checkGroup(group); !problem.empty())
      fail(group[0]->loc, problem);
  }
  std::set<std::pair<int, std::string>> resultNames;
  for (const Result &r : fn.results) {
    if (!defined.count(r.value)) {
      fail({}, fmt::format("{} '{}' is not a value of this function", roleName(r.role), r.name));
      continue;
    }
    if (!resultNames.insert({int(r.role), r.name}).second)
      fail({}, fmt::format("{} '{}' is given twice", roleName(r.role), r.name));
    if (r.role == ResultRole::Loss && (!r.value->type.isScalar() || !isFloat(r.value->type.dtype)))
      fail({},
           fmt::format("the loss must be a floating-point scalar, not {}", r.value->type.str()));
    if (r.role == ResultRole::Grad || r.role == ResultRole::Update || r.role == ResultRole::State) {
      ArgRole role = r.role == ResultRole::State ? ArgRole::State : ArgRole::Param;
      Argument *arg = fn.findArgument(role, r.name);
      if (!arg || !(arg->value.type == r.value->type))
        fail({}, fmt::format("{} '{}' must match a {} of the same type", roleName(r.role), r.name,
                             roleName(role)));
    }
  }
  return ok;
}

bool verify(const Module &module, DiagnosticEngine &diags, std::string_view stage) {
  bool ok = true;
  for (const auto &fn : module.functions)
    ok &= verify(*fn, diags, stage);
  return ok;
}

} // namespace nabla::ir
