#include "ir/Interpreter.h"
#include "ir/InterpreterKernels.h"

#include <cmath>
#include <unordered_map>

namespace nabla::ir {

using kernels::Buffer;

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;

double sigmoid(double x) {
  if (x >= 0)
    return 1 / (1 + std::exp(-x));
  double e = std::exp(x);
  return e / (1 + e);
}
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
/// max and min that propagate NaN, as PyTorch's maximum and minimum do.
double nanMax(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
}
double nanMin(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b);
}

double unaryOp(OpKind kind, double x, double alpha) {
  switch (kind) {
  case OpKind::Neg: return -x;
  case OpKind::Exp: return std::exp(x);
  case OpKind::Log: return std::log(x);
  case OpKind::Sqrt: return std::sqrt(x);
  case OpKind::Abs: return std::fabs(x);
  case OpKind::Tanh: return std::tanh(x);
  case OpKind::Sigmoid: return sigmoid(x);
  case OpKind::Relu: return x > 0 || std::isnan(x) ? x : 0.0;
  case OpKind::Softplus: return softplus(x);
  case OpKind::Gelu: return 0.5 * x * (1 + std::erf(x * kSqrt1_2));
  case OpKind::Erf: return std::erf(x);
  case OpKind::Sin: return std::sin(x);
  case OpKind::Cos: return std::cos(x);
  case OpKind::LeakyRelu: return x > 0 ? x : alpha * x;
  case OpKind::Elu: return x > 0 ? x : alpha * std::expm1(x);
  case OpKind::StopGradient: return x;
  case OpKind::Constant:
  case OpKind::DimSize:
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
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Slice:
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
  case OpKind::AvgPool2dBackward: return std::nan("");
  }
}

double binaryOp(OpKind kind, double a, double b) {
  switch (kind) {
  case OpKind::Add: return a + b;
  case OpKind::Sub: return a - b;
  case OpKind::Mul: return a * b;
  case OpKind::SafeMul: return a == 0 ? 0.0 : a * b;
  case OpKind::Div: return a / b;
  case OpKind::Pow: return std::pow(a, b);
  case OpKind::Max: return nanMax(a, b);
  case OpKind::Min: return nanMin(a, b);
  case OpKind::Eq: return a == b;
  case OpKind::Ne: return a != b;
  case OpKind::Lt: return a < b;
  case OpKind::Le: return a <= b;
  case OpKind::Gt: return a > b;
  case OpKind::Ge: return a >= b;
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
  case OpKind::Select:
  case OpKind::StopGradient:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Slice:
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
  case OpKind::AvgPool2dBackward: return std::nan("");
  }
}

kernels::Reduction reductionOf(OpKind kind) {
  switch (kind) {
  case OpKind::ReduceMax: return kernels::Reduction::Max;
  case OpKind::ReduceMin: return kernels::Reduction::Min;
  case OpKind::LogSumExp: return kernels::Reduction::LogSumExp;
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
  case OpKind::Transpose:
  case OpKind::Concat:
  case OpKind::Slice:
  case OpKind::ReduceSum:
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
  case OpKind::AvgPool2dBackward: return kernels::Reduction::Sum;
  }
}

class Evaluation {
public:
  Evaluation(DiagnosticEngine &diags, const SymbolBindings &bindings)
      : diags_(diags), bindings_(bindings) {}

  std::optional<Buffer> evaluate(const Op &op, const std::vector<const Buffer *> &in);

private:
  std::optional<Buffer> fail(const Op &op, const std::string &message) {
    diags_.error(op.loc, "{}", message);
    return std::nullopt;
  }
  /// A label as an index, or nothing when it is outside [0, classes).
  static std::optional<int64_t> label(double v, int64_t classes) {
    if (!(v >= 0 && v < double(classes)))
      return std::nullopt;
    return static_cast<int64_t>(v);
  }

  DiagnosticEngine &diags_;
  const SymbolBindings &bindings_;
};

std::optional<Buffer> Evaluation::evaluate(const Op &op, const std::vector<const Buffer *> &in) {
  std::optional<std::vector<int64_t>> shape = concreteShape(op.result.type.shape, bindings_);
  if (!shape)
    return fail(op, "a size of the result is unbound or too large");
  std::string error;
  if (!checkAllocation(DType::F64, *shape, error))
    return fail(op, error);
  const Attrs &a = op.attrs;
  int64_t n = kernels::numel(*shape);
  const OpInfo &info = op.info();

  if (op.kind == OpKind::Constant || op.kind == OpKind::DimSize) {
    double value = a.value;
    if (op.kind == OpKind::DimSize) {
      auto size = concreteShape({a.dim}, bindings_);
      if (!size)
        return fail(op, "the size " + a.dim.str() + " is unbound");
      value = double((*size)[0]);
    }
    return Buffer{std::vector<double>(n, value), *shape};
  }
  if (info.traits & kElementwise) {
    Buffer out{std::vector<double>(n), *shape};
    if (op.kind == OpKind::Select) {
      for (int64_t i = 0; i < n; ++i)
        out.v[i] = in[0]->v[i] != 0 ? in[1]->v[i] : in[2]->v[i];
    } else if (in.size() == 1) {
      for (int64_t i = 0; i < n; ++i)
        out.v[i] = unaryOp(op.kind, in[0]->v[i], a.alpha);
    } else {
      for (int64_t i = 0; i < n; ++i)
        out.v[i] = binaryOp(op.kind, in[0]->v[i], in[1]->v[i]);
    }
    return out;
  }
  switch (op.kind) {
  case OpKind::Broadcast: return kernels::broadcast(*in[0], *shape);
  case OpKind::Reshape: return Buffer{in[0]->v, *shape};
  case OpKind::Transpose: return kernels::transpose(*in[0], a.perm);
  case OpKind::Concat: return kernels::concat(in, a.axis);
  case OpKind::Slice: {
    auto start = concreteShape({a.start}, bindings_);
    if (!start)
      return fail(op, "the slice start " + a.start.str() + " is unbound");
    return kernels::slice(*in[0], a.axis, (*start)[0], (*shape)[a.axis]);
  }
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin:
  case OpKind::LogSumExp: return kernels::reduce(*in[0], a.axes, a.keepdims, reductionOf(op.kind));
  case OpKind::MatMul: return kernels::matmul(*in[0], *in[1], a.transposeA, a.transposeB);
  case OpKind::Softmax: return kernels::softmax(*in[0], a.axis, false);
  case OpKind::LogSoftmax: return kernels::softmax(*in[0], a.axis, true);
  case OpKind::Argmax: return kernels::argmax(*in[0], a.axis);
  case OpKind::OneHot: {
    Buffer out{std::vector<double>(n, 0.0), *shape};
    for (size_t i = 0; i < in[0]->v.size(); ++i) {
      std::optional<int64_t> c = label(in[0]->v[i], a.classes);
      if (!c)
        return fail(op, "one_hot: label " + std::to_string(int64_t(in[0]->v[i])) + " at position " +
                            std::to_string(i) + " is outside [0, " + std::to_string(a.classes) +
                            ")");
      out.v[i * a.classes + *c] = 1;
    }
    return out;
  }
  case OpKind::CrossEntropy: {
    // mean over rows of logsumexp(logits) - logits[label]
    const Buffer &logits = *in[0], &labels = *in[1];
    int64_t rows = logits.shape[0], classes = logits.shape[1];
    Buffer lse = kernels::reduce(logits, {1}, false, kernels::Reduction::LogSumExp);
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) {
      std::optional<int64_t> c = label(labels.v[r], classes);
      if (!c)
        return fail(op, "cross_entropy: label " + std::to_string(int64_t(labels.v[r])) +
                            " in row " + std::to_string(r) + " is outside [0, " +
                            std::to_string(classes) + ")");
      total += lse.v[r] - logits.v[r * classes + *c];
    }
    return Buffer{{total / double(rows)}, {}};
  }
  case OpKind::BceWithLogits: {
    // mean of max(x, 0) - x t + log(1 + exp(-|x|))
    const Buffer &x = *in[0], &t = *in[1];
    double total = 0;
    for (size_t i = 0; i < x.v.size(); ++i)
      total += std::max(x.v[i], 0.0) - x.v[i] * t.v[i] + std::log1p(std::exp(-std::fabs(x.v[i])));
    return Buffer{{total / double(x.v.size())}, {}};
  }
  case OpKind::Conv2d: return kernels::conv2d(*in[0], *in[1], a.stride, a.padding);
  case OpKind::MaxPool2d: return kernels::maxPool2d(*in[0], a.window, a.stride);
  case OpKind::AvgPool2d: return kernels::avgPool2d(*in[0], a.window, a.stride);
  case OpKind::Conv2dBackwardInput:
    return kernels::conv2dBackwardInput(*in[0], *in[1], *shape, a.stride, a.padding);
  case OpKind::Conv2dBackwardWeight:
    return kernels::conv2dBackwardWeight(*in[0], *in[1], *shape, a.stride, a.padding);
  case OpKind::MaxPool2dBackward:
    return kernels::maxPool2dBackward(*in[0], *in[1], a.window, a.stride);
  case OpKind::MaxPool2dTangent:
    return kernels::maxPool2dTangent(*in[0], *in[1], a.window, a.stride);
  case OpKind::AvgPool2dBackward:
    return kernels::avgPool2dBackward(*in[0], *shape, a.window, a.stride);
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
  case OpKind::StopGradient: break;
  }
  return fail(op,
              std::string("the interpreter has no kernel for '") + std::string(info.name) + "'");
}

void roundTo(DType dtype, Buffer &b) {
  if (dtype == DType::F32)
    for (double &x : b.v)
      x = double(float(x));
}

Buffer toBuffer(const Tensor &t) {
  Buffer b{std::vector<double>(t.numel()), t.shape()};
  for (int64_t i = 0; i < t.numel(); ++i)
    b.v[i] = t.get(i);
  return b;
}

Tensor toTensor(const Buffer &b, DType dtype) {
  Tensor t(dtype, b.shape);
  for (size_t i = 0; i < b.v.size(); ++i)
    t.set(int64_t(i), b.v[i]);
  return t;
}

} // namespace

std::optional<std::vector<Tensor>> Interpreter::run(const Function &fn,
                                                    const std::vector<const Tensor *> &args,
                                                    const SymbolBindings &bindings) {
  std::unordered_map<const Value *, Buffer> env;
  for (size_t i = 0; i < fn.args.size(); ++i)
    env[&fn.args[i]->value] = toBuffer(*args[i]);
  // Free each value after its last use, except results.
  std::unordered_map<const Value *, size_t> lastUse;
  for (size_t i = 0; i < fn.ops.size(); ++i)
    for (const Value *v : fn.ops[i]->operands)
      lastUse[v] = i;
  for (const Result &r : fn.results)
    lastUse[r.value] = fn.ops.size();

  Evaluation evaluation(diags_, bindings);
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const Op &op = *fn.ops[i];
    std::vector<const Buffer *> operands;
    for (const Value *v : op.operands)
      operands.push_back(&env.at(v));
    std::optional<Buffer> out = evaluation.evaluate(op, operands);
    if (!out)
      return std::nullopt;
    roundTo(op.result.type.dtype, *out);
    env[&op.result] = std::move(*out);
    for (const Value *v : op.operands)
      if (lastUse[v] == i)
        env.erase(v);
  }
  std::vector<Tensor> results;
  for (const Result &r : fn.results)
    results.push_back(toTensor(env.at(r.value), r.value->type.dtype));
  return results;
}

double evaluateElement(const Op &op, const std::vector<double> &operands) {
  double v = op.kind == OpKind::Select ? (operands[0] != 0 ? operands[1] : operands[2])
             : operands.size() == 1    ? unaryOp(op.kind, operands[0], op.attrs.alpha)
                                       : binaryOp(op.kind, operands[0], operands[1]);
  return op.result.type.dtype == DType::F32 ? double(float(v)) : v;
}

const Op *Interpreter::firstNonFinite(const Function &fn, const std::vector<const Tensor *> &args,
                                      const SymbolBindings &bindings,
                                      const Argument **badArgument) {
  auto finite = [](const Buffer &b) {
    for (double x : b.v)
      if (!std::isfinite(x))
        return false;
    return true;
  };
  *badArgument = nullptr;
  std::unordered_map<const Value *, Buffer> env;
  for (size_t i = 0; i < fn.args.size(); ++i) {
    env[&fn.args[i]->value] = toBuffer(*args[i]);
    if (!*badArgument && !finite(env[&fn.args[i]->value]))
      *badArgument = fn.args[i].get();
  }
  if (*badArgument)
    return nullptr;
  Evaluation evaluation(diags_, bindings);
  for (const auto &op : fn.ops) {
    std::vector<const Buffer *> operands;
    for (const Value *v : op->operands)
      operands.push_back(&env.at(v));
    std::optional<Buffer> out = evaluation.evaluate(*op, operands);
    if (!out)
      return nullptr;
    roundTo(op->result.type.dtype, *out);
    if (!finite(*out))
      return op.get();
    env[&op->result] = std::move(*out);
  }
  return nullptr;
}

} // namespace nabla::ir
