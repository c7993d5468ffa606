#include "ir/IR.h"

#include <cstring>

namespace nabla::ir {

bool Attrs::equals(const Attrs &o, unsigned mask) const {
  auto pair = [](const int64_t(&a)[2], const int64_t(&b)[2]) {
    return a[0] == b[0] && a[1] == b[1];
  };
  // Constants compare by bit pattern so that -0.0 and NaN payloads stay apart.
  if ((mask & kAttrValue) && std::memcmp(&value, &o.value, sizeof(double)) != 0)
    return false;
  if ((mask & kAttrDim) && !(dim == o.dim))
    return false;
  if ((mask & kAttrAxes) && axes != o.axes)
    return false;
  if ((mask & kAttrKeepdims) && keepdims != o.keepdims)
    return false;
  if ((mask & kAttrAxis) && axis != o.axis)
    return false;
  if ((mask & kAttrAlpha) && alpha != o.alpha)
    return false;
  if ((mask & kAttrClasses) && classes != o.classes)
    return false;
  if ((mask & kAttrPerm) && perm != o.perm)
    return false;
  if ((mask & kAttrTranspose) && (transposeA != o.transposeA || transposeB != o.transposeB))
    return false;
  if ((mask & kAttrStride) && !pair(stride, o.stride))
    return false;
  if ((mask & kAttrFromEnd) && fromEnd != o.fromEnd)
    return false;
  if ((mask & kAttrReverse) && reverse != o.reverse)
    return false;
  if ((mask & kAttrBody) && body != o.body)
    return false;
  if ((mask & kAttrPart) && part != o.part)
    return false;
  if ((mask & kAttrGrads) && (grads != o.grads || residuals != o.residuals))
    return false;
  if ((mask & kAttrPadding) && !pair(padding, o.padding))
    return false;
  if ((mask & kAttrWindow) && !pair(window, o.window))
    return false;
  if ((mask & kAttrStart) && !(start == o.start))
    return false;
  return true;
}

const char *roleName(ArgRole role) {
  switch (role) {
  case ArgRole::Input: return "input";
  case ArgRole::Param: return "param";
  case ArgRole::State: return "state";
  }
  return "?";
}

const char *roleName(ResultRole role) {
  switch (role) {
  case ResultRole::Loss: return "loss";
  case ResultRole::Output: return "output";
  case ResultRole::Metric: return "metric";
  case ResultRole::Grad: return "grad";
  case ResultRole::Update: return "update";
  case ResultRole::State: return "state";
  case ResultRole::Residual: return "residual";
  }
  return "?";
}

Argument *Function::addArgument(ArgRole role, std::string argName, TensorType type, SourceLoc loc) {
  auto arg = std::make_unique<Argument>();
  arg->role = role;
  arg->value.name = std::move(argName);
  arg->value.type = std::move(type);
  arg->loc = loc;
  args.push_back(std::move(arg));
  return args.back().get();
}

Value *Function::append(OpKind kind, std::vector<Value *> operands, TensorType type, Attrs attrs,
                        SourceLoc loc, std::string valueName) {
  auto op = std::make_unique<Op>();
  op->kind = kind;
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  op->loc = loc;
  op->result.type = std::move(type);
  op->result.name = std::move(valueName);
  op->result.def = op.get();
  ops.push_back(std::move(op));
  return &ops.back()->result;
}

void Function::addResult(ResultRole role, std::string resultName, Value *value) {
  results.push_back({role, std::move(resultName), value});
}

Argument *Function::findArgument(ArgRole role, const std::string &argName) const {
  for (const auto &a : args)
    if (a->role == role && a->value.name == argName)
      return a.get();
  return nullptr;
}

const Result *Function::findResult(ResultRole role, const std::string &resultName) const {
  for (const Result &r : results)
    if (r.role == role && r.name == resultName)
      return &r;
  return nullptr;
}

std::vector<Argument *> Function::arguments(ArgRole role) const {
  std::vector<Argument *> out;
  for (const auto &a : args)
    if (a->role == role)
      out.push_back(a.get());
  return out;
}

Function *Module::addFunction(std::string functionName) {
  functions.push_back(std::make_unique<Function>(std::move(functionName)));
  return functions.back().get();
}

Function *Module::lookup(const std::string &functionName) const {
  for (const auto &f : functions)
    if (f->name == functionName)
      return f.get();
  return nullptr;
}

} // namespace nabla::ir
