//===- SemaBuiltins.cpp - Argument binding and shape rules ----------------===//
//
// Every builtin's dtype and shape rule, with the errors a user sees when an
// operand does not fit. Rules follow NumPy/PyTorch: broadcasting aligns
// trailing axes, negative axes count from the end, losses average.
//
//===----------------------------------------------------------------------===//
#include "frontend/SemaImpl.h"

#include <fmt/ranges.h>
#include <llvm/Support/Casting.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nabla::sema {

//===----------------------------------------------------------------------===//
// Binding call arguments to a signature
//===----------------------------------------------------------------------===//

std::optional<std::vector<BoundArg>>
Sema::bindArguments(const Signature &sig, const ast::CallExpr *call, SourceLoc loc, Scope &scope) {
  std::vector<BoundArg> bound(sig.params.size());
  for (size_t i = 0; i < bound.size(); ++i) {
    bound[i].spec = &sig.params[i];
    bound[i].loc = loc;
  }
  bool ok = true;
  size_t positional = 0;
  if (call) {
    for (const ast::Argument &arg : call->args) {
      size_t index;
      if (arg.name.empty()) {
        if (positional >= sig.params.size()) {
          error(ast::beginLoc(*arg.value),
                "too many arguments in the call to '{}': it takes {}; its signature is {}",
                sig.name, sig.params.size(), sig.str());
          return std::nullopt;
        }
        index = positional++;
      } else {
        int found = sig.find(arg.name);
        if (found < 0) {
          std::vector<std::string_view> names;
          for (const ParamSpec &p : sig.params)
            names.push_back(p.name);
          std::string suggestion = closestName(arg.name, names);
          error(arg.nameLoc, "'{}' has no parameter named '{}'{}; its signature is {}", sig.name,
                arg.name, suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)",
                sig.str());
          ok = false;
          continue;
        }
        index = static_cast<size_t>(found);
        if (bound[index].given()) {
          error(arg.nameLoc, "argument '{}' of '{}' is given twice", arg.name, sig.name);
          ok = false;
          continue;
        }
      }
      bound[index].expr = arg.value.get();
      bound[index].loc = ast::beginLoc(*arg.value);
    }
  }
  for (const BoundArg &b : bound) {
    if (!b.given() && !b.spec->defaultText) {
      error(loc, "missing argument '{}' in the call to '{}'; its signature is {}", b.spec->name,
            sig.name, sig.str());
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  for (BoundArg &b : bound)
    if (b.given())
      b.value = eval(*b.expr, scope);
  return bound;
}

std::optional<double> Sema::argNumber(const BoundArg &arg, std::string_view what) {
  if (!arg.given())
    return arg.spec->defaultValue;
  if (arg.value.kind == Value::Kind::Number)
    return arg.value.number;
  if (!arg.value.isPoison())
    error(arg.loc, "{} must be a compile-time number, but this is {}", what, arg.value.describe());
  return std::nullopt;
}

std::optional<int64_t> Sema::argInt(const BoundArg &arg, std::string_view what) {
  std::optional<double> v = argNumber(arg, what);
  if (!v)
    return std::nullopt;
  if (*v != std::floor(*v) || std::fabs(*v) > double(kMaxDimSize)) {
    error(arg.loc, "{} must be an integer, but this is {}", what, *v);
    return std::nullopt;
  }
  return static_cast<int64_t>(*v);
}

std::optional<bool> Sema::argBool(const BoundArg &arg, std::string_view what) {
  if (!arg.given())
    return arg.spec->defaultValue != 0;
  if (arg.value.kind == Value::Kind::Bool)
    return arg.value.boolean;
  if (!arg.value.isPoison())
    error(arg.loc, "{} must be true or false, but this is {}", what, arg.value.describe());
  return std::nullopt;
}

std::optional<std::string> Sema::argString(const BoundArg &arg, std::string_view what) {
  if (arg.value.kind == Value::Kind::String)
    return arg.value.text;
  if (!arg.value.isPoison())
    error(arg.loc, "{} must be a string, but this is {}", what, arg.value.describe());
  return std::nullopt;
}

namespace {

/// The operation's name as a message shows it: "'+'" or "'softmax'".
std::string displayName(Builtin id) {
  const BuiltinInfo &info = builtinInfo(id);
  return info.spelling.empty() ? "'" + std::string(info.name) + "'" : std::string(info.spelling);
}

/// Normalizes `axis` for a tensor of `rank`; nothing if out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, unsigned rank) {
  int64_t r = rank;
  if (axis < -r || axis >= r)
    return std::nullopt;
  return axis < 0 ? axis + r : axis;
}

/// The value of a concrete dimension, or nothing when it is symbolic.
std::optional<int64_t> concrete(const Dim &d) {
  if (!d.isConcrete())
    return std::nullopt;
  return d.coefficient();
}

} // namespace

//===----------------------------------------------------------------------===//
// The shape rules
//===----------------------------------------------------------------------===//

namespace {

/// Applies one builtin: every rule reads its arguments, reports what does not
/// fit and fills in the node. Lives in a class so the rules share helpers.
class RuleContext {
public:
  RuleContext(Sema &sema, Builtin id, std::vector<BoundArg> &args, SourceLoc loc, DType floatType)
      : sema_(sema), id_(id), args_(args), loc_(loc), floatType_(floatType),
        name_(displayName(id)) {}

  Value apply();

private:
  template <typename... Args>
  void error(SourceLoc loc, fmt::format_string<Args...> format, Args &&...args) {
    sema_.error(loc, format, std::forward<Args>(args)...);
  }

  /// Tensor argument `i`, or null after an error.
  Node *tensorArg(size_t i);
  /// The common dtype of `nodes`; weak constants adopt it. Reports i32 where
  /// `allowInt` is false and f32/f64 mixes.
  std::optional<DType> unify(const std::vector<Node *> &nodes, bool allowInt);
  std::optional<Shape> broadcast(const std::vector<Node *> &nodes);
  std::optional<std::vector<int64_t>> axesArg(size_t i, unsigned rank);
  std::optional<int64_t> axisArg(size_t i, unsigned rank);
  std::optional<std::pair<int64_t, int64_t>> windowArg(size_t i, int64_t minimum);
  bool requireRank(Node *x, unsigned minRank, unsigned maxRank, std::string_view what);
  bool requireFloat(Node *x, std::string_view what);
  bool requireLabels(Node *x, std::string_view what);
  bool sameShape(Node *a, Node *b, std::string_view what);
  /// Labels for the rows of `scores` [B, C]: i32 indices [B] or float [B, C].
  bool rowLabels(Node *scores, Node *labels, std::string_view what);
  Value finish(TensorType type, std::vector<Node *> operands, const NodeAttrs &attrs = {});

  Value elementwise(bool allowInt, bool numericResult);
  Value matmul();
  Value transpose();
  /// A list of sizes (integers, symbolic sizes, one -1 where `allowInferred`):
  /// the shape with 1 at the -1, the product of the others, and the list as
  /// written. Nothing after an error.
  struct Sizes {
    Shape shape;
    std::optional<size_t> inferred;
    Dim known;
    std::string text;
  };
  std::optional<Sizes> sizesArg(size_t i, bool allowInferred);
  /// zeros([...]) and ones([...]).
  Value filled();
  Value reshape();
  Value flatten();
  Value concat();
  Value reduce();
  Value softmaxLike();
  Value oneHot();
  Value argmax();
  Value accuracy();
  Value grad();
  Value pairwiseLoss();
  Value crossEntropy();
  Value conv2d();
  Value pool2d();

  Sema &sema_;
  Builtin id_;
  std::vector<BoundArg> &args_;
  SourceLoc loc_;
  DType floatType_;
  std::string name_;
};

Node *RuleContext::tensorArg(size_t i) {
  const BoundArg &arg = args_[i];
  if (Node *n = sema_.tensorOf(arg.value))
    return n;
  if (!arg.value.isPoison())
    error(arg.loc, "{} expects a tensor for '{}', but this is {}", name_, arg.spec->name,
          arg.value.describe());
  return nullptr;
}

std::optional<DType> RuleContext::unify(const std::vector<Node *> &nodes, bool allowInt) {
  const Node *strong = nullptr;
  for (const Node *n : nodes) {
    if (n->weak)
      continue;
    if (!strong) {
      strong = n;
    } else if (strong->type.dtype != n->type.dtype &&
               (isFloat(strong->type.dtype) && isFloat(n->type.dtype))) {
      error(loc_,
            "{} mixes {} and {} operands; declare them with the same element type, or "
            "compile with --dtype f64",
            name_, dtypeName(strong->type.dtype), dtypeName(n->type.dtype));
      sema_.noteOrigin(strong);
      sema_.noteOrigin(n);
      return std::nullopt;
    } else if (strong->type.dtype != n->type.dtype) {
      const Node *labels = strong->type.dtype == DType::I32 ? strong : n;
      error(loc_, "{} cannot combine i32 labels with floating-point values", name_);
      sema_.noteOrigin(labels);
      return std::nullopt;
    }
  }
  DType result = strong ? strong->type.dtype : floatType_;
  if (result == DType::I32 && !allowInt) {
    error(loc_,
          "{} cannot be applied to i32 values: i32 tensors hold class labels, which may "
          "only be compared or passed to cross_entropy, one_hot and accuracy",
          name_);
    sema_.noteOrigin(strong);
    return std::nullopt;
  }
  for (Node *n : nodes) {
    if (!n->weak)
      continue;
    if (result == DType::I32 && n->constant != std::floor(n->constant)) {
      error(n->loc, "i32 labels can only be compared with integers, not {}", n->constant);
      return std::nullopt;
    }
    n->type.dtype = result;
    n->weak = false;
  }
  return result;
}

std::optional<Shape> RuleContext::broadcast(const std::vector<Node *> &nodes) {
  Shape shape;
  const Node *first = nullptr;
  for (const Node *n : nodes) {
    std::optional<Shape> next = broadcastShapes(shape, n->type.shape);
    if (!next) {
      // Name the first pair of trailing dimensions that disagree.
      const Shape &a = shape, &b = n->type.shape;
      std::string detail;
      for (size_t k = 1; k <= std::min(a.size(), b.size()); ++k) {
        const Dim &da = a[a.size() - k], &db = b[b.size() - k];
        if (!(da == db) && !da.isOne() && !db.isOne()) {
          detail =
              fmt::format(": dimension {} of one and {} of the other differ", da.str(), db.str());
          break;
        }
      }
      error(loc_, "{} cannot broadcast {} with {}{}", name_, first->type.str(), n->type.str(),
            detail);
      sema_.noteOrigin(first);
      sema_.noteOrigin(n);
      return std::nullopt;
    }
    shape = std::move(*next);
    if (!first || n->type.shape.size() >= first->type.shape.size())
      first = n;
  }
  return shape;
}

bool RuleContext::requireRank(Node *x, unsigned minRank, unsigned maxRank, std::string_view what) {
  if (x->type.rank() >= minRank && x->type.rank() <= maxRank)
    return true;
  std::string expected = minRank == maxRank    ? fmt::format("rank {}", minRank)
                         : maxRank == kMaxRank ? fmt::format("rank {} or more", minRank)
                                               : fmt::format("rank {} to {}", minRank, maxRank);
  error(loc_, "{} needs {} of {}, but it is {}", name_, what, expected, x->type.str());
  sema_.noteOrigin(x);
  return false;
}

bool RuleContext::requireFloat(Node *x, std::string_view what) {
  if (x->weak) {
    x->type.dtype = floatType_;
    x->weak = false;
  }
  if (isFloat(x->type.dtype))
    return true;
  error(loc_, "{} needs floating-point {}, but it is {}; i32 tensors hold class labels", name_,
        what, x->type.str());
  sema_.noteOrigin(x);
  return false;
}

bool RuleContext::requireLabels(Node *x, std::string_view what) {
  if (!x->weak && x->type.dtype == DType::I32)
    return true;
  error(loc_, "{} needs i32 class labels for {}, but it is {}", name_, what,
        x->weak ? "a number" : x->type.str());
  sema_.noteOrigin(x);
  return false;
}

bool RuleContext::sameShape(Node *a, Node *b, std::string_view what) {
  if (a->type.shape == b->type.shape)
    return true;
  error(loc_, "{} needs {} of the same shape, but they are {} and {}", name_, what,
        shapeStr(a->type.shape), shapeStr(b->type.shape));
  sema_.noteOrigin(a);
  sema_.noteOrigin(b);
  return false;
}

std::optional<int64_t> RuleContext::axisArg(size_t i, unsigned rank) {
  std::optional<int64_t> axis = sema_.argInt(args_[i], "the axis");
  if (!axis)
    return std::nullopt;
  std::optional<int64_t> normalized = normalizeAxis(*axis, rank);
  if (!normalized)
    error(args_[i].loc, "axis {} is out of range for a tensor of rank {} (valid: {} to {})", *axis,
          rank, -int64_t(rank), int64_t(rank) - 1);
  return normalized;
}

std::optional<std::vector<int64_t>> RuleContext::axesArg(size_t i, unsigned rank) {
  const BoundArg &arg = args_[i];
  std::vector<int64_t> axes;
  if (!arg.given()) {
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
    return axes;
  }
  std::vector<BoundArg> elements;
  if (arg.value.kind == Value::Kind::List) {
    for (const Value &item : arg.value.items)
      elements.push_back(BoundArg{arg.spec, arg.expr, item, item.loc});
  } else {
    elements.push_back(arg);
  }
  for (const BoundArg &el : elements) {
    std::optional<int64_t> axis = sema_.argInt(el, "an axis");
    if (!axis)
      return std::nullopt;
    std::optional<int64_t> normalized = normalizeAxis(*axis, rank);
    if (!normalized) {
      error(el.loc, "axis {} is out of range for a tensor of rank {} (valid: {} to {})", *axis,
            rank, -int64_t(rank), int64_t(rank) - 1);
      return std::nullopt;
    }
    if (std::find(axes.begin(), axes.end(), *normalized) != axes.end()) {
      error(el.loc, "axis {} is listed twice", *axis);
      return std::nullopt;
    }
    axes.push_back(*normalized);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

std::optional<std::pair<int64_t, int64_t>> RuleContext::windowArg(size_t i, int64_t minimum) {
  const BoundArg &arg = args_[i];
  std::string what = fmt::format("'{}'", arg.spec->name);
  std::vector<BoundArg> parts;
  if (arg.value.kind == Value::Kind::List) {
    if (arg.value.items.size() != 2) {
      error(arg.loc, "{} must be an integer or a list [height, width]", what);
      return std::nullopt;
    }
    for (const Value &item : arg.value.items)
      parts.push_back(BoundArg{arg.spec, arg.expr, item, item.loc});
  } else {
    parts = {arg, arg};
  }
  std::optional<int64_t> h = sema_.argInt(parts[0], what);
  std::optional<int64_t> w = h ? sema_.argInt(parts[1], what) : std::nullopt;
  if (!h || !w)
    return std::nullopt;
  if (*h < minimum || *w < minimum) {
    error(arg.loc, "{} must be at least {}, but it is {}", what, minimum, std::min(*h, *w));
    return std::nullopt;
  }
  return std::make_pair(*h, *w);
}

Value RuleContext::finish(TensorType type, std::vector<Node *> operands, const NodeAttrs &attrs) {
  Node *node = sema_.newNode(Node::Kind::Op, std::move(type), loc_);
  if (!node)
    return Value::poison(loc_);
  node->op = id_;
  node->operands = std::move(operands);
  node->attrs = attrs;
  return Value::makeTensor(node, loc_);
}

Value RuleContext::apply() {
  using B = Builtin;
  switch (id_) {
  case B::Add:
  case B::Sub:
  case B::Mul:
  case B::Div:
  case B::Pow:
  case B::Maximum:
  case B::Minimum:
  case B::Clamp:
    // Every NABLA_UNARY_BUILTIN row.
    // clang-format off
#define NABLA_UNARY_BUILTIN(Id, Name, Op) case B::Id:
#include "frontend/Builtins.def"
  // clang-format on
  case B::Neg:
  case B::Square:
  case B::Silu:
  case B::Mish:
  case B::LeakyRelu:
  case B::Elu:
  case B::Where: return elementwise(/*allowInt=*/false, /*numericResult=*/false);
  case B::StopGradient: return elementwise(/*allowInt=*/true, /*numericResult=*/false);
  case B::Eq:
  case B::Ne:
  case B::Lt:
  case B::Le:
  case B::Gt:
  case B::Ge: return elementwise(/*allowInt=*/true, /*numericResult=*/true);
  case B::MatMul: return matmul();
  case B::Transpose: return transpose();
  case B::Reshape: return reshape();
  case B::Flatten: return flatten();
  case B::Concat: return concat();
  case B::Sum:
  case B::Mean:
  case B::Max:
  case B::Min:
  case B::LogSumExp: return reduce();
  case B::Softmax:
  case B::LogSoftmax: return softmaxLike();
  case B::OneHot: return oneHot();
  case B::Argmax: return argmax();
  case B::Accuracy: return accuracy();
  case B::Grad: return grad();
  case B::Zeros:
  case B::Ones: return filled();
  case B::Index: // built by Sema::evalIndex
  case B::Scan:  // expanded by Sema::evalScan
    return Value::poison(loc_);
  case B::Mse:
  case B::BceWithLogits: return pairwiseLoss();
  case B::CrossEntropy: return crossEntropy();
  case B::Conv2d: return conv2d();
  case B::MaxPool2d:
  case B::AvgPool2d: return pool2d();
  }
  return Value::poison(loc_);
}

/// Element-wise operations broadcast their tensor operands. `where`'s mask may
/// be of any dtype; comparisons accept labels and give a 0/1 mask.
Value RuleContext::elementwise(bool allowInt, bool numericResult) {
  std::vector<Node *> operands;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (args_[i].spec->kind != ArgKind::Tensor)
      continue;
    Node *n = tensorArg(i);
    if (!n)
      return Value::poison(loc_);
    operands.push_back(n);
  }
  NodeAttrs attrs;
  if (id_ == Builtin::LeakyRelu || id_ == Builtin::Elu) {
    std::optional<double> alpha =
        sema_.argNumber(args_[1], fmt::format("'{}'", args_[1].spec->name));
    if (!alpha)
      return Value::poison(loc_);
    attrs.alpha = *alpha;
  }
  // where(mask, a, b): the mask takes any dtype; a and b share one.
  std::vector<Node *> typed = operands;
  if (id_ == Builtin::Where) {
    if (operands[0]->weak) {
      operands[0]->type.dtype = floatType_;
      operands[0]->weak = false;
    }
    typed.erase(typed.begin());
  }
  std::optional<DType> dtype = unify(typed, allowInt);
  if (!dtype)
    return Value::poison(loc_);
  std::optional<Shape> shape = broadcast(operands);
  if (!shape)
    return Value::poison(loc_);
  DType result = numericResult && *dtype == DType::I32 ? floatType_ : *dtype;
  return finish(TensorType{result, *shape}, operands, attrs);
}

Value RuleContext::matmul() {
  Node *a = tensorArg(0), *b = tensorArg(1);
  if (!a || !b)
    return Value::poison(loc_);
  std::optional<DType> dtype = unify({a, b}, false);
  if (!dtype)
    return Value::poison(loc_);
  if (a->type.rank() == 0 || b->type.rank() == 0) {
    error(loc_,
          "'@' needs operands of rank 1 or more, but they are {} and {}; use '*' to scale "
          "by a scalar",
          a->type.str(), b->type.str());
    sema_.noteOrigin(a->type.rank() == 0 ? a : b);
    return Value::poison(loc_);
  }
  const Shape &sa = a->type.shape, &sb = b->type.shape;
  const Dim &ka = sa.back();
  const Dim &kb = sb.size() == 1 ? sb[0] : sb[sb.size() - 2];
  if (!(ka == kb)) {
    error(loc_, "'@' needs matching inner dimensions, but {} @ {} pairs {} with {}", a->type.str(),
          b->type.str(), ka.str(), kb.str());
    sema_.noteOrigin(a);
    sema_.noteOrigin(b);
    return Value::poison(loc_);
  }
  Shape batchA(sa.begin(), sa.end() - std::min<size_t>(sa.size(), 2));
  Shape batchB(sb.begin(), sb.end() - std::min<size_t>(sb.size(), 2));
  std::optional<Shape> batch = broadcastShapes(batchA, batchB);
  if (!batch) {
    error(loc_, "'@' cannot broadcast the batch dimensions {} and {}", shapeStr(batchA),
          shapeStr(batchB));
    sema_.noteOrigin(a);
    sema_.noteOrigin(b);
    return Value::poison(loc_);
  }
  Shape out = *batch;
  if (sa.size() >= 2)
    out.push_back(sa[sa.size() - 2]);
  if (sb.size() >= 2)
    out.push_back(sb.back());
  return finish(TensorType{*dtype, out}, {a, b});
}

Value RuleContext::transpose() {
  Node *x = tensorArg(0);
  if (!x)
    return Value::poison(loc_);
  unsigned rank = x->type.rank();
  NodeAttrs attrs;
  const BoundArg &permArg = args_[1];
  if (!permArg.given()) {
    if (!requireRank(x, 2, kMaxRank, "an operand"))
      return Value::poison(loc_);
    attrs.perm.resize(rank);
    std::iota(attrs.perm.begin(), attrs.perm.end(), 0);
    std::swap(attrs.perm[rank - 2], attrs.perm[rank - 1]);
  } else {
    if (permArg.value.kind != Value::Kind::List) {
      error(permArg.loc, "'perm' must be a list of axes, such as [1, 0]");
      return Value::poison(loc_);
    }
    if (permArg.value.items.size() != rank) {
      error(permArg.loc, "'perm' must list each of the {} axes of {} once, but it has {} entries",
            rank, x->type.str(), permArg.value.items.size());
      return Value::poison(loc_);
    }
    for (const Value &item : permArg.value.items) {
      std::optional<int64_t> axis =
          sema_.argInt(BoundArg{permArg.spec, permArg.expr, item, item.loc}, "an axis");
      if (!axis)
        return Value::poison(loc_);
      std::optional<int64_t> normalized = normalizeAxis(*axis, rank);
      if (!normalized || std::count(attrs.perm.begin(), attrs.perm.end(), *normalized)) {
        error(item.loc, "'perm' must be a permutation of the axes 0 to {}", int64_t(rank) - 1);
        return Value::poison(loc_);
      }
      attrs.perm.push_back(*normalized);
    }
  }
  Shape out;
  for (int64_t p : attrs.perm)
    out.push_back(x->type.shape[p]);
  return finish(TensorType{x->type.dtype, out}, {x}, attrs);
}

std::optional<RuleContext::Sizes> RuleContext::sizesArg(size_t i, bool allowInferred) {
  const BoundArg &shapeArg = args_[i];
  if (shapeArg.value.kind != Value::Kind::List) {
    if (!shapeArg.value.isPoison())
      error(shapeArg.loc, "the shape must be a list of sizes, such as [B, 28, 28]");
    return std::nullopt;
  }
  const std::vector<Value> &items = shapeArg.value.items;
  if (items.size() > kMaxRank) {
    error(shapeArg.loc, "the shape has {} dimensions; the most a tensor may have is {}",
          items.size(), kMaxRank);
    return std::nullopt;
  }
  Sizes s;
  s.shape.resize(items.size());
  std::vector<std::string> written; // the requested shape, for messages
  for (size_t d = 0; d < items.size(); ++d) {
    const Value &item = items[d];
    if (item.isPoison())
      return std::nullopt;
    if (allowInferred && item.kind == Value::Kind::Number && item.number == -1) {
      if (s.inferred) {
        error(item.loc, "only one dimension of the shape may be -1");
        return std::nullopt;
      }
      s.inferred = d;
      written.push_back("-1");
      continue;
    }
    if (item.kind == Value::Kind::Size) {
      s.shape[d] = item.size;
    } else if (item.kind == Value::Kind::Number && item.number >= 1 &&
               item.number <= double(kMaxDimSize) && item.number == std::floor(item.number)) {
      s.shape[d] = Dim(static_cast<int64_t>(item.number));
    } else {
      error(item.loc, "a dimension of the shape must be a positive integer{}, but this is {}",
            allowInferred ? ", a symbolic size or -1" : " or a symbolic size", item.describe());
      return std::nullopt;
    }
    written.push_back(s.shape[d].str());
    std::optional<Dim> product = Dim::product(s.known, s.shape[d]);
    if (!product) {
      error(item.loc, "the shape is too large");
      return std::nullopt;
    }
    s.known = *product;
  }
  s.text = "[" + fmt::format("{}", fmt::join(written, ", ")) + "]";
  return s;
}

Value RuleContext::filled() {
  std::optional<Sizes> s = sizesArg(0, /*allowInferred=*/false);
  if (!s)
    return Value::poison(loc_);
  Node *node = sema_.newNode(Node::Kind::Constant, TensorType{floatType_, s->shape}, loc_);
  if (!node)
    return Value::poison(loc_);
  node->constant = id_ == Builtin::Ones ? 1 : 0;
  return Value::makeTensor(node, loc_);
}

Value RuleContext::reshape() {
  Node *x = tensorArg(0);
  if (!x)
    return Value::poison(loc_);
  const BoundArg &shapeArg = args_[1];
  std::optional<Sizes> sizes = sizesArg(1, /*allowInferred=*/true);
  if (!sizes)
    return Value::poison(loc_);
  Shape out = sizes->shape;
  std::optional<size_t> inferred = sizes->inferred;
  const Dim &known = sizes->known;
  const std::string &requested = sizes->text;
  std::optional<Dim> total = numElements(x->type.shape);
  if (inferred) {
    std::optional<Dim> rest = total ? total->dividedBy(known) : std::nullopt;
    if (!rest) {
      error(shapeArg.loc, "cannot reshape {} into {}: its {} elements do not divide evenly by {}",
            x->type.str(), requested, total ? total->str() : "many", known.str());
      sema_.noteOrigin(x);
      return Value::poison(loc_);
    }
    out[*inferred] = *rest;
  } else if (!total || !(*total == known)) {
    error(shapeArg.loc, "cannot reshape {} ({} elements) into {} ({} elements)", x->type.str(),
          total ? total->str() : "many", requested, known.str());
    sema_.noteOrigin(x);
    return Value::poison(loc_);
  }
  return finish(TensorType{x->type.dtype, out}, {x});
}

Value RuleContext::flatten() {
  Node *x = tensorArg(0);
  if (!x || !requireRank(x, 2, kMaxRank, "an operand"))
    return Value::poison(loc_);
  Shape rest(x->type.shape.begin() + 1, x->type.shape.end());
  std::optional<Dim> merged = numElements(rest);
  if (!merged) {
    error(loc_, "{} would give a dimension that is too large", name_);
    return Value::poison(loc_);
  }
  return finish(TensorType{x->type.dtype, {x->type.shape[0], *merged}}, {x});
}

Value RuleContext::concat() {
  const BoundArg &list = args_[0];
  if (list.value.kind != Value::Kind::List || list.value.items.empty()) {
    if (!list.value.isPoison())
      error(list.loc, "{} needs a non-empty list of tensors, such as concat([a, b], axis=1)",
            name_);
    return Value::poison(loc_);
  }
  std::vector<Node *> parts;
  for (const Value &item : list.value.items) {
    Node *n = sema_.tensorOf(item);
    if (!n) {
      if (!item.isPoison())
        error(item.loc, "{} expects tensors in its list, but this is {}", name_, item.describe());
      return Value::poison(loc_);
    }
    parts.push_back(n);
  }
  std::optional<DType> dtype = unify(parts, /*allowInt=*/true);
  if (!dtype)
    return Value::poison(loc_);
  unsigned rank = parts[0]->type.rank();
  for (Node *p : parts)
    if (p->type.rank() != rank || rank == 0) {
      error(loc_, "{} needs tensors of the same rank (1 or more), but got {} and {}", name_,
            parts[0]->type.str(), p->type.str());
      sema_.noteOrigin(parts[0]);
      sema_.noteOrigin(p);
      return Value::poison(loc_);
    }
  std::optional<int64_t> axis = axisArg(1, rank);
  if (!axis)
    return Value::poison(loc_);
  Shape out = parts[0]->type.shape;
  for (size_t k = 1; k < parts.size(); ++k) {
    const Shape &s = parts[k]->type.shape;
    for (unsigned d = 0; d < rank; ++d) {
      if (d == *axis)
        continue;
      if (!(s[d] == out[d])) {
        error(loc_,
              "{} needs equal sizes off the concatenation axis, but dimension {} is {} in "
              "one and {} in another",
              name_, d, out[d].str(), s[d].str());
        sema_.noteOrigin(parts[0]);
        sema_.noteOrigin(parts[k]);
        return Value::poison(loc_);
      }
    }
    std::optional<Dim> sum = Dim::sum(out[*axis], s[*axis]);
    if (!sum) {
      error(loc_,
            "{} along axis {} would give the size {} + {}, which is not supported: sizes "
            "along the axis must be all known or the same symbolic size",
            name_, *axis, out[*axis].str(), s[*axis].str());
      return Value::poison(loc_);
    }
    out[*axis] = *sum;
  }
  NodeAttrs attrs;
  attrs.axis = *axis;
  return finish(TensorType{*dtype, out}, parts, attrs);
}

Value RuleContext::reduce() {
  Node *x = tensorArg(0);
  if (!x || !requireFloat(x, "values"))
    return Value::poison(loc_);
  std::optional<std::vector<int64_t>> axes = axesArg(1, x->type.rank());
  std::optional<bool> keepdims = sema_.argBool(args_[2], "'keepdims'");
  if (!axes || !keepdims)
    return Value::poison(loc_);
  Shape out;
  for (unsigned d = 0; d < x->type.rank(); ++d) {
    bool reduced = std::find(axes->begin(), axes->end(), d) != axes->end();
    if (!reduced)
      out.push_back(x->type.shape[d]);
    else if (*keepdims)
      out.push_back(Dim(1));
  }
  NodeAttrs attrs;
  attrs.axes = *axes;
  attrs.keepdims = *keepdims;
  return finish(TensorType{x->type.dtype, out}, {x}, attrs);
}

Value RuleContext::softmaxLike() {
  Node *x = tensorArg(0);
  if (!x || !requireFloat(x, "values") || !requireRank(x, 1, kMaxRank, "an operand"))
    return Value::poison(loc_);
  std::optional<int64_t> axis = axisArg(1, x->type.rank());
  if (!axis)
    return Value::poison(loc_);
  NodeAttrs attrs;
  attrs.axis = *axis;
  return finish(x->type, {x}, attrs);
}

Value RuleContext::oneHot() {
  Node *labels = tensorArg(0);
  if (!labels || !requireLabels(labels, "'labels'"))
    return Value::poison(loc_);
  std::optional<int64_t> n = sema_.argInt(args_[1], "the number of classes 'n'");
  if (!n)
    return Value::poison(loc_);
  if (*n < 1) {
    error(args_[1].loc, "the number of classes 'n' must be at least 1, but it is {}", *n);
    return Value::poison(loc_);
  }
  if (labels->type.rank() >= kMaxRank) {
    error(loc_, "{} would give a tensor of more than {} dimensions", name_, kMaxRank);
    return Value::poison(loc_);
  }
  Shape out = labels->type.shape;
  out.push_back(Dim(*n));
  NodeAttrs attrs;
  attrs.classes = *n;
  return finish(TensorType{floatType_, out}, {labels}, attrs);
}

Value RuleContext::argmax() {
  Node *x = tensorArg(0);
  if (!x || !requireFloat(x, "scores") || !requireRank(x, 1, kMaxRank, "an operand"))
    return Value::poison(loc_);
  std::optional<int64_t> axis = axisArg(1, x->type.rank());
  if (!axis)
    return Value::poison(loc_);
  Shape out = x->type.shape;
  out.erase(out.begin() + *axis);
  NodeAttrs attrs;
  attrs.axis = *axis;
  return finish(TensorType{DType::I32, out}, {x}, attrs);
}

bool RuleContext::rowLabels(Node *scores, Node *labels, std::string_view what) {
  const Shape &s = scores->type.shape;
  if (labels->weak || labels->type.dtype != DType::I32) {
    std::optional<DType> dtype = unify({scores, labels}, false);
    return dtype && sameShape(scores, labels, fmt::format("{} and probability labels", what));
  }
  if (!s[1].isConcrete()) {
    error(loc_, "{} needs a known number of classes, but {} {} has a symbolic one", name_, what,
          scores->type.str());
    sema_.noteOrigin(scores);
    return false;
  }
  if (labels->type.rank() == 1 && labels->type.shape[0] == s[0])
    return true;
  error(loc_, "{} needs class labels of shape [{}] for {} {}, but they are {}", name_, s[0].str(),
        what, scores->type.str(), labels->type.str());
  sema_.noteOrigin(scores);
  sema_.noteOrigin(labels);
  return false;
}

Value RuleContext::accuracy() {
  Node *scores = tensorArg(0), *labels = tensorArg(1);
  if (!scores || !labels || !requireFloat(scores, "scores") ||
      !requireRank(scores, 2, 2, "scores [batch, classes]") || !rowLabels(scores, labels, "scores"))
    return Value::poison(loc_);
  return finish(TensorType{scores->type.dtype, {}}, {scores, labels});
}

/// grad(f, x): f a float scalar, x an input or param of a float type; the
/// result has x's type.
Value RuleContext::grad() {
  Node *f = tensorArg(0), *x = tensorArg(1);
  if (!f || !x)
    return Value::poison(loc_);
  const BoundArg &fArg = args_[0], &xArg = args_[1];
  if (x->kind != Node::Kind::Input && x->kind != Node::Kind::Param) {
    error(xArg.loc,
          "grad differentiates with respect to an input or a param, named as declared, but "
          "this is {}",
          x->kind == Node::Kind::Constant ? "a number" : "a computed value");
    if (x->kind == Node::Kind::Op)
      sema_.noteOrigin(x);
    return Value::poison(loc_);
  }
  if (!isFloat(x->type.dtype)) {
    error(xArg.loc,
          "grad cannot differentiate with respect to '{}', an i32 input: labels are not "
          "continuous values",
          x->name);
    sema_.noteOrigin(x);
    return Value::poison(loc_);
  }
  if (f->weak) { // grad(2, x): a constant, whose gradient is zero
    f->type.dtype = x->type.dtype;
    f->weak = false;
  }
  if (!f->type.isScalar()) {
    error(fArg.loc,
          "grad needs a scalar to differentiate, but 'f' is {}; reduce it first, as in "
          "grad(sum(u), x)",
          f->type.str());
    sema_.noteOrigin(f);
    return Value::poison(loc_);
  }
  if (!requireFloat(f, "'f'") || !unify({f, x}, false))
    return Value::poison(loc_);
  return finish(x->type, {f, x});
}

/// mse and bce_with_logits: two float tensors of one shape, averaged.
Value RuleContext::pairwiseLoss() {
  Node *a = tensorArg(0), *b = tensorArg(1);
  if (!a || !b)
    return Value::poison(loc_);
  std::optional<DType> dtype = unify({a, b}, false);
  if (!dtype)
    return Value::poison(loc_);
  // A number as target means "this value everywhere".
  if (b->type.isScalar() && !a->type.isScalar() && b->kind == Node::Kind::Constant)
    return finish(TensorType{*dtype, {}}, {a, b});
  if (!sameShape(a, b, fmt::format("'{}' and '{}'", args_[0].spec->name, args_[1].spec->name)))
    return Value::poison(loc_);
  return finish(TensorType{*dtype, {}}, {a, b});
}

Value RuleContext::crossEntropy() {
  Node *logits = tensorArg(0), *labels = tensorArg(1);
  if (!logits || !labels || !requireFloat(logits, "logits") ||
      !requireRank(logits, 2, 2, "logits [batch, classes]") || !rowLabels(logits, labels, "logits"))
    return Value::poison(loc_);
  return finish(TensorType{logits->type.dtype, {}}, {logits, labels});
}

Value RuleContext::conv2d() {
  Node *x = tensorArg(0), *w = tensorArg(1);
  if (!x || !w)
    return Value::poison(loc_);
  std::optional<DType> dtype = unify({x, w}, false);
  if (!dtype || !requireRank(x, 4, 4, "an input [N, C, H, W]") ||
      !requireRank(w, 4, 4, "weights [O, C, KH, KW]"))
    return Value::poison(loc_);
  auto stride = windowArg(2, 1);
  auto padding = stride ? windowArg(3, 0) : std::nullopt;
  if (!stride || !padding)
    return Value::poison(loc_);
  const Shape &xs = x->type.shape, &ws = w->type.shape;
  if (!(xs[1] == ws[1])) {
    error(loc_,
          "{} needs the input's channels to match the weights': {} has {} channels but {} "
          "expects {}",
          name_, x->type.str(), xs[1].str(), w->type.str(), ws[1].str());
    sema_.noteOrigin(x);
    sema_.noteOrigin(w);
    return Value::poison(loc_);
  }
  Shape out = {xs[0], ws[0]};
  int64_t pad[2] = {padding->first, padding->second};
  int64_t str[2] = {stride->first, stride->second};
  for (int k = 0; k < 2; ++k) {
    auto size = concrete(xs[2 + k]), kernel = concrete(ws[2 + k]);
    if (!size || !kernel) {
      error(loc_, "{} needs known spatial sizes, but {} and {} have symbolic ones", name_,
            x->type.str(), w->type.str());
      return Value::poison(loc_);
    }
    int64_t outSize = windowOutputSize(*size, *kernel, str[k], pad[k]);
    if (outSize == 0) {
      error(loc_, "{}: the kernel's {} ({}) is larger than the padded input's ({})", name_,
            k == 0 ? "height" : "width", *kernel, *size + 2 * pad[k]);
      sema_.noteOrigin(x);
      return Value::poison(loc_);
    }
    out.push_back(Dim(outSize));
  }
  NodeAttrs attrs;
  attrs.stride[0] = str[0];
  attrs.stride[1] = str[1];
  attrs.padding[0] = pad[0];
  attrs.padding[1] = pad[1];
  attrs.window[0] = *concrete(ws[2]);
  attrs.window[1] = *concrete(ws[3]);
  return finish(TensorType{*dtype, out}, {x, w}, attrs);
}

Value RuleContext::pool2d() {
  Node *x = tensorArg(0);
  if (!x || !requireFloat(x, "values") || !requireRank(x, 4, 4, "an input [N, C, H, W]"))
    return Value::poison(loc_);
  auto window = windowArg(1, 1);
  if (!window)
    return Value::poison(loc_);
  auto stride = args_[2].given() ? windowArg(2, 1) : window;
  if (!stride)
    return Value::poison(loc_);
  const Shape &xs = x->type.shape;
  Shape out = {xs[0], xs[1]};
  int64_t win[2] = {window->first, window->second};
  int64_t str[2] = {stride->first, stride->second};
  for (int k = 0; k < 2; ++k) {
    auto size = concrete(xs[2 + k]);
    if (!size) {
      error(loc_, "{} needs known spatial sizes, but {} has symbolic ones", name_, x->type.str());
      return Value::poison(loc_);
    }
    if (*size < win[k]) {
      error(loc_, "{}: the window's {} ({}) is larger than the input's ({})", name_,
            k == 0 ? "height" : "width", win[k], *size);
      sema_.noteOrigin(x);
      return Value::poison(loc_);
    }
    out.push_back(Dim(windowOutputSize(*size, win[k], str[k], 0)));
  }
  NodeAttrs attrs;
  attrs.window[0] = win[0];
  attrs.window[1] = win[1];
  attrs.stride[0] = str[0];
  attrs.stride[1] = str[1];
  return finish(TensorType{x->type.dtype, out}, {x}, attrs);
}

} // namespace

Value Sema::applyBuiltin(Builtin id, std::vector<BoundArg> &args, SourceLoc loc) {
  for (const BoundArg &arg : args) {
    if (!arg.given())
      continue; // a default, read by the rule
    if (arg.value.isPoison())
      return Value::poison(loc);
    for (const Value &item : arg.value.items)
      if (item.isPoison())
        return Value::poison(loc);
  }
  return RuleContext(*this, id, args, loc, program_->floatType).apply();
}

} // namespace nabla::sema
