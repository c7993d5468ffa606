#include "ir/Interpreter.h"
#include "ir/InterpreterKernels.h"
#include "ir/InterpreterLoops.h"

#include <cassert>
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

double unaryOp(UnaryOp kind, double x, double alpha) {
  switch (kind) {
  case UnaryOp::Neg: return -x;
  case UnaryOp::Exp: return std::exp(x);
  case UnaryOp::Log: return std::log(x);
  case UnaryOp::Sqrt: return std::sqrt(x);
  case UnaryOp::Abs: return std::fabs(x);
  case UnaryOp::Tanh: return std::tanh(x);
  case UnaryOp::Sigmoid: return sigmoid(x);
  case UnaryOp::Relu: return x > 0 || std::isnan(x) ? x : 0.0;
  case UnaryOp::Softplus: return softplus(x);
  case UnaryOp::Gelu: return 0.5 * x * (1 + std::erf(x * kSqrt1_2));
  case UnaryOp::Erf: return std::erf(x);
  case UnaryOp::Sin: return std::sin(x);
  case UnaryOp::Cos: return std::cos(x);
  case UnaryOp::Log1p: return std::log1p(x);
  case UnaryOp::Expm1: return std::expm1(x);
  case UnaryOp::LeakyRelu: return x > 0 ? x : alpha * x;
  case UnaryOp::Elu: return x > 0 ? x : alpha * std::expm1(x);
  case UnaryOp::StopGradient: return x;
  }
  return std::nan("");
}

double binaryOp(BinaryOp kind, double a, double b) {
  switch (kind) {
  case BinaryOp::Add: return a + b;
  case BinaryOp::Sub: return a - b;
  case BinaryOp::Mul: return a * b;
  case BinaryOp::SafeMul: return a == 0 ? 0.0 : a * b;
  case BinaryOp::Div: return a / b;
  case BinaryOp::Pow: return std::pow(a, b);
  case BinaryOp::Max: return nanMax(a, b);
  case BinaryOp::Min: return nanMin(a, b);
  }
  return std::nan("");
}

/// A comparison as 1 or 0 (NaN compares false, except with ne).
double compare(ComparisonOp kind, double a, double b) {
  switch (kind) {
  case ComparisonOp::Eq: return a == b;
  case ComparisonOp::Ne: return a != b;
  case ComparisonOp::Lt: return a < b;
  case ComparisonOp::Le: return a <= b;
  case ComparisonOp::Gt: return a > b;
  case ComparisonOp::Ge: return a >= b;
  }
  return std::nan("");
}

/// What element-wise `op` computes from one element of each operand.
double elementOf(const Op &op, const double *operands) {
  switch (op.info().family) {
  case OpFamily::Unary: return unaryOp(asUnary(op.kind), operands[0], op.attrs.alpha);
  case OpFamily::Binary: return binaryOp(asBinary(op.kind), operands[0], operands[1]);
  case OpFamily::Comparison: return compare(asComparison(op.kind), operands[0], operands[1]);
  case OpFamily::Select: return operands[0] != 0 ? operands[1] : operands[2];
  case OpFamily::Leaf:
  case OpFamily::Layout:
  case OpFamily::Reduction:
  case OpFamily::MatMul:
  case OpFamily::Neural:
  case OpFamily::Convolution:
  case OpFamily::Pooling:
  case OpFamily::Loop: break;
  }
  assert(false && "not an element-wise op");
  return std::nan("");
}

/// Runs `fn` on `args` (the interpreter's loop over its ops), giving its
/// results; nothing after reporting an error.
std::optional<std::vector<Buffer>> runOnBuffers(const Function &fn, std::vector<Buffer> args,
                                                const SymbolBindings &bindings,
                                                DiagnosticEngine &diags);

kernels::Reduction reductionOf(ReductionOp kind) {
  switch (kind) {
  case ReductionOp::ReduceMax: return kernels::Reduction::Max;
  case ReductionOp::ReduceMin: return kernels::Reduction::Min;
  case ReductionOp::LogSumExp: return kernels::Reduction::LogSumExp;
  case ReductionOp::ReduceSum: return kernels::Reduction::Sum;
  }
  return kernels::Reduction::Sum;
}

class Evaluation {
public:
  Evaluation(DiagnosticEngine &diags, const SymbolBindings &bindings)
      : diags_(diags), bindings_(bindings) {}

  std::optional<Buffer> evaluate(const Op &op, const std::vector<const Buffer *> &in);

private:
  std::optional<Buffer> layout(const Op &op, const std::vector<const Buffer *> &in,
                               const std::vector<int64_t> &shape);
  std::optional<Buffer> neural(const Op &op, const std::vector<const Buffer *> &in,
                               const std::vector<int64_t> &shape);
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

  switch (info.family) {
  case OpFamily::Leaf: {
    double value = a.value;
    if (op.kind == OpKind::DimSize) {
      auto size = concreteShape({a.dim}, bindings_);
      if (!size)
        return fail(op, "the size " + a.dim.str() + " is unbound");
      value = double((*size)[0]);
    }
    return Buffer{std::vector<double>(n, value), *shape};
  }
  case OpFamily::Unary:
  case OpFamily::Binary:
  case OpFamily::Comparison:
  case OpFamily::Select: {
    Buffer out{std::vector<double>(n), *shape};
    double element[3];
    for (int64_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < in.size(); ++k)
        element[k] = in[k]->v[i];
      out.v[i] = elementOf(op, element);
    }
    return out;
  }
  case OpFamily::Layout: return layout(op, in, *shape);
  case OpFamily::Reduction:
    return kernels::reduce(*in[0], a.axes, a.keepdims, reductionOf(asReduction(op.kind)));
  case OpFamily::MatMul: return kernels::matmul(*in[0], *in[1], a.transposeA, a.transposeB);
  case OpFamily::Neural: return neural(op, in, *shape);
  case OpFamily::Convolution:
    switch (asConvolution(op.kind)) {
    case ConvolutionOp::Conv2d: return kernels::conv2d(*in[0], *in[1], a.stride, a.padding);
    case ConvolutionOp::Conv2dBackwardInput:
      return kernels::conv2dBackwardInput(*in[0], *in[1], *shape, a.stride, a.padding);
    case ConvolutionOp::Conv2dBackwardWeight:
      return kernels::conv2dBackwardWeight(*in[0], *in[1], *shape, a.stride, a.padding);
    }
    break;
  case OpFamily::Pooling:
    switch (asPooling(op.kind)) {
    case PoolingOp::MaxPool2d: return kernels::maxPool2d(*in[0], a.window, a.stride);
    case PoolingOp::AvgPool2d: return kernels::avgPool2d(*in[0], a.window, a.stride);
    case PoolingOp::MaxPool2dBackward:
      return kernels::maxPool2dBackward(*in[0], *in[1], a.window, a.stride);
    case PoolingOp::MaxPool2dTangent:
      return kernels::maxPool2dTangent(*in[0], *in[1], a.window, a.stride);
    case PoolingOp::AvgPool2dBackward:
      return kernels::avgPool2dBackward(*in[0], *shape, a.window, a.stride);
    }
    break;
  case OpFamily::Loop:
    return kernels::loop(op, in, [&](const Function &body, std::vector<Buffer> args) {
      return runOnBuffers(body, std::move(args), bindings_, diags_);
    });
  }
  return fail(op,
              std::string("the interpreter has no kernel for '") + std::string(info.name) + "'");
}

std::optional<Buffer> Evaluation::layout(const Op &op, const std::vector<const Buffer *> &in,
                                         const std::vector<int64_t> &shape) {
  const Attrs &a = op.attrs;
  LayoutOp kind = asLayout(op.kind);
  switch (kind) {
  case LayoutOp::Broadcast: return kernels::broadcast(*in[0], shape);
  case LayoutOp::Reshape: return Buffer{in[0]->v, shape};
  case LayoutOp::Transpose: return kernels::transpose(*in[0], a.perm);
  case LayoutOp::Concat: return kernels::concat(in, a.axis);
  case LayoutOp::Slice:
  case LayoutOp::Pad: {
    auto start = concreteShape({a.start}, bindings_);
    if (!start)
      return fail(op, "the start " + a.start.str() + " is unbound");
    bool pad = kind == LayoutOp::Pad;
    int64_t whole = pad ? shape[size_t(a.axis)] : in[0]->shape[size_t(a.axis)];
    int64_t part = pad ? in[0]->shape[size_t(a.axis)] : shape[size_t(a.axis)];
    int64_t at = a.fromEnd ? whole - (*start)[0] : (*start)[0];
    if (at < 0 || at + part > whole)
      return fail(op,
                  "the index is out of range: the axis has " + std::to_string(whole) + " elements");
    return pad ? kernels::pad(*in[0], a.axis, at, shape) : kernels::slice(*in[0], a.axis, at, part);
  }
  }
  return std::nullopt;
}

std::optional<Buffer> Evaluation::neural(const Op &op, const std::vector<const Buffer *> &in,
                                         const std::vector<int64_t> &shape) {
  const Attrs &a = op.attrs;
  switch (asNeural(op.kind)) {
  case NeuralOp::Softmax: return kernels::softmax(*in[0], a.axis, false);
  case NeuralOp::LogSoftmax: return kernels::softmax(*in[0], a.axis, true);
  case NeuralOp::Argmax: return kernels::argmax(*in[0], a.axis);
  case NeuralOp::OneHot: {
    Buffer out{std::vector<double>(size_t(kernels::numel(shape)), 0.0), shape};
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
  case NeuralOp::CrossEntropy: {
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
  case NeuralOp::BceWithLogits: {
    // mean of max(x, 0) - x t + log(1 + exp(-|x|))
    const Buffer &x = *in[0], &t = *in[1];
    double total = 0;
    for (size_t i = 0; i < x.v.size(); ++i)
      total += std::max(x.v[i], 0.0) - x.v[i] * t.v[i] + std::log1p(std::exp(-std::fabs(x.v[i])));
    return Buffer{{total / double(x.v.size())}, {}};
  }
  }
  return std::nullopt;
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

std::optional<std::vector<Buffer>> runOnBuffers(const Function &fn, std::vector<Buffer> args,
                                                const SymbolBindings &bindings,
                                                DiagnosticEngine &diags) {
  std::unordered_map<const Value *, Buffer> env;
  for (size_t i = 0; i < fn.args.size(); ++i)
    env[&fn.args[i]->value] = std::move(args[i]);
  // Free each value after its last use, except results.
  std::unordered_map<const Value *, size_t> lastUse;
  for (size_t i = 0; i < fn.ops.size(); ++i)
    for (const Value *v : fn.ops[i]->operands)
      lastUse[v] = i;
  for (const Result &r : fn.results)
    lastUse[r.value] = fn.ops.size();

  Evaluation evaluation(diags, bindings);
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
  std::vector<Buffer> results;
  for (const Result &r : fn.results)
    results.push_back(env.at(r.value));
  return results;
}

} // namespace

std::optional<std::vector<Tensor>> Interpreter::run(const Function &fn,
                                                    const std::vector<const Tensor *> &args,
                                                    const SymbolBindings &bindings) {
  std::vector<Buffer> buffers;
  for (size_t i = 0; i < fn.args.size(); ++i)
    buffers.push_back(toBuffer(*args[i]));
  std::optional<std::vector<Buffer>> out = runOnBuffers(fn, std::move(buffers), bindings, diags_);
  if (!out)
    return std::nullopt;
  std::vector<Tensor> results;
  for (size_t j = 0; j < fn.results.size(); ++j)
    results.push_back(toTensor((*out)[j], fn.results[j].value->type.dtype));
  return results;
}

double evaluateElement(const Op &op, const std::vector<double> &operands) {
  double v = elementOf(op, operands.data());
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
