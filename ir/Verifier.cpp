#include "ir/Verifier.h"
#include "ir/Groups.h"
#include "ir/ShapeRules.h"

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
  std::string problem = checkResultType(op);
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
    else if (op->attrs.body && !verify(*op->attrs.body, diags, stage))
      ok = false;
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
    if (r.role == ResultRole::Residual && !isFloat(r.value->type.dtype))
      fail({}, fmt::format("residual '{}' must be floating-point, not {}", r.name,
                           r.value->type.str()));
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

bool verifyBoundSizes(const Function &fn, const SymbolBindings &bindings, DiagnosticEngine &diags) {
  bool ok = true;
  for (const auto &op : fn.ops) {
    if (op->attrs.body)
      ok &= verifyBoundSizes(*op->attrs.body, bindings, diags);
    if (op->kind != OpKind::Slice && op->kind != OpKind::Pad)
      continue;
    bool pad = op->kind == OpKind::Pad;
    const TensorType &whole = pad ? op->result.type : op->operands[0]->type;
    const TensorType &part = pad ? op->operands[0]->type : op->result.type;
    size_t axis = size_t(op->attrs.axis);
    auto all = concreteShape({whole.shape[axis], part.shape[axis], op->attrs.start}, bindings);
    if (!all)
      continue; // unbound: the memory plan reports it
    int64_t n = (*all)[0], size = (*all)[1], start = (*all)[2];
    int64_t at = op->attrs.fromEnd ? n - start : start;
    if (at < 0 || at + size > n) {
      std::string where = op->attrs.fromEnd ? fmt::format("{} back from the end", start)
                                            : fmt::format("from position {}", start);
      diags.error(op->loc,
                  "the index is out of range: it takes {} element{} {} of axis {} of {}, whose "
                  "size is {} here",
                  size, size == 1 ? "" : "s", where, axis, whole.str(), n);
      ok = false;
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
