#include "frontend/Builtins.h"

#include <llvm/ADT/StringRef.h>

#include <array>
#include <cassert>

namespace nabla {

std::string Signature::str() const {
  std::string out(name);
  out += "(";
  for (size_t i = 0; i < params.size(); ++i) {
    if (i)
      out += ", ";
    out += params[i].name;
    if (params[i].defaultText) {
      out += "=";
      out += params[i].defaultText;
    }
  }
  return out + ")";
}

int Signature::find(std::string_view paramName) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (paramName == params[i].name)
      return static_cast<int>(i);
  return -1;
}

namespace {

constexpr size_t kBuiltinCount = 0
#define NABLA_BUILTIN(Id, Name, Callable) +1
#include "frontend/Builtins.def"
    ;

ParamSpec tensor(const char *name) { return {name, ArgKind::Tensor}; }

/// The parameters of each builtin, in the order of Builtins.def.
std::vector<ParamSpec> paramsOf(Builtin id) {
  using B = Builtin;
  switch (id) {
  case B::Add:
  case B::Sub:
  case B::Mul:
  case B::Div:
  case B::Pow:
  case B::MatMul:
  case B::Eq:
  case B::Ne:
  case B::Lt:
  case B::Le:
  case B::Gt:
  case B::Ge:
  case B::Maximum:
  case B::Minimum:
    return {tensor("a"), tensor("b")};
    // Every NABLA_UNARY_BUILTIN row.
    // clang-format off
#define NABLA_UNARY_BUILTIN(Id, Name, Op) case B::Id:
#include "frontend/Builtins.def"
  // clang-format on
  case B::Neg:
  case B::Square:
  case B::Silu:
  case B::Mish:
  case B::StopGradient:
  case B::Index:
  case B::Flatten: return {tensor("x")};
  case B::Zeros:
  case B::Ones: return {{"shape", ArgKind::Dims}};
  case B::LeakyRelu: return {tensor("x"), {"slope", ArgKind::Float, "0.01", 0.01}};
  case B::Elu: return {tensor("x"), {"alpha", ArgKind::Float, "1.0", 1.0}};
  case B::Where: return {tensor("mask"), tensor("a"), tensor("b")};
  case B::Clamp: return {tensor("x"), tensor("lo"), tensor("hi")};
  case B::Transpose: return {tensor("x"), {"perm", ArgKind::Perm, "last two swapped"}};
  case B::Reshape: return {tensor("x"), {"shape", ArgKind::Dims}};
  case B::Concat: return {{"tensors", ArgKind::TensorList}, {"axis", ArgKind::Axis, "0", 0}};
  case B::Sum:
  case B::Mean:
  case B::Max:
  case B::Min:
  case B::LogSumExp:
    return {tensor("x"), {"axis", ArgKind::Axes, "all"}, {"keepdims", ArgKind::Bool, "false", 0}};
  case B::Softmax:
  case B::LogSoftmax:
  case B::Argmax: return {tensor("x"), {"axis", ArgKind::Axis, "-1", -1}};
  case B::OneHot: return {tensor("labels"), {"n", ArgKind::Int}};
  case B::Accuracy: return {tensor("scores"), tensor("labels")};
  case B::Mse: return {tensor("pred"), tensor("target")};
  case B::CrossEntropy: return {tensor("logits"), tensor("labels")};
  case B::BceWithLogits: return {tensor("logits"), tensor("targets")};
  case B::Grad: return {tensor("f"), tensor("x")};
  case B::Scan: // variadic: Sema::evalScan binds it; this is what messages show
    return {tensor("f"),
            tensor("init"),
            tensor("xs"),
            {"axis", ArgKind::Axis, "0", 0},
            {"reverse", ArgKind::Bool, "false", 0}};
  case B::Conv2d:
    return {tensor("x"),
            tensor("w"),
            {"stride", ArgKind::Window, "1", 1},
            {"padding", ArgKind::Window, "0", 0}};
  case B::MaxPool2d:
  case B::AvgPool2d:
    return {tensor("x"), {"size", ArgKind::Window}, {"stride", ArgKind::Window, "size"}};
  }
  return {};
}

const std::array<BuiltinInfo, kBuiltinCount> &table() {
  static const std::array<BuiltinInfo, kBuiltinCount> infos = [] {
    std::array<BuiltinInfo, kBuiltinCount> t{};
    size_t i = 0;
#define NABLA_BUILTIN(Id, Name, Callable)                                                          \
  t[i] = BuiltinInfo{Builtin::Id, Name, Callable, "", Signature{Name, paramsOf(Builtin::Id)}};     \
  ++i;
#define NABLA_OPERATOR(Id, Name, Spelling)                                                         \
  t[i] = BuiltinInfo{Builtin::Id, Name, false, Spelling, Signature{Name, paramsOf(Builtin::Id)}};  \
  ++i;
#include "frontend/Builtins.def"
    return t;
  }();
  return infos;
}

struct Alias {
  std::string_view name;
  Builtin target;
};
constexpr Alias kAliases[] = {{"swish", Builtin::Silu}};

} // namespace

const BuiltinInfo &builtinInfo(Builtin id) {
  const BuiltinInfo &info = table()[static_cast<size_t>(id)];
  assert(info.id == id && "Builtins.def order and table disagree");
  return info;
}

const BuiltinInfo *lookupBuiltin(std::string_view name) {
  for (const BuiltinInfo &info : table())
    if (info.callable && info.name == name)
      return &info;
  for (const Alias &a : kAliases)
    if (a.name == name)
      return &builtinInfo(a.target);
  return nullptr;
}

std::vector<std::string_view> builtinNames() {
  std::vector<std::string_view> names;
  for (const BuiltinInfo &info : table())
    if (info.callable)
      names.push_back(info.name);
  for (const Alias &a : kAliases)
    names.push_back(a.name);
  return names;
}

std::string closestName(std::string_view name, const std::vector<std::string_view> &candidates) {
  std::string best;
  unsigned bestDistance = ~0u;
  // One edit for short names, then a third of the length (at least two).
  unsigned limit = name.size() <= 3 ? 1 : std::max<unsigned>(2, name.size() / 3);
  for (std::string_view c : candidates) {
    unsigned d = llvm::StringRef(name).edit_distance(c, true, limit + 1);
    // A suggestion must keep part of the name: none for one-letter names.
    if (d <= limit && d < bestDistance && d > 0 && d < name.size()) {
      bestDistance = d;
      best = std::string(c);
    }
  }
  return best;
}

} // namespace nabla
