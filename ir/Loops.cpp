#include "ir/Loops.h"

#include <fmt/format.h>

#include <algorithm>

namespace nabla::ir {

namespace {

/// Operands that are not extras: init and xs; scan_grad adds hs, g and its
/// residuals.
size_t fixedOperands(const Op &op) {
  return op.kind == OpKind::ScanGrad ? 4 + size_t(std::max<int64_t>(op.attrs.residuals, 0)) : 2;
}

} // namespace

size_t loopExtraCount(const Op &op) { return op.operands.size() - fixedOperands(op); }

const Dim &loopLength(const Op &op) { return op.operands[1]->type.shape[size_t(op.attrs.axis)]; }

Shape sliceShape(const Shape &xs, int64_t axis) {
  Shape s = xs;
  s.erase(s.begin() + axis);
  return s;
}

Shape stackedShape(const Shape &state, int64_t axis, const Dim &length) {
  Shape s = state;
  s.insert(s.begin() + axis, length);
  return s;
}

ScanGradLayout scanGradLayout(size_t extras, const std::vector<int64_t> &grads, size_t residuals) {
  ScanGradLayout l;
  l.extras = extras;
  l.residuals = residuals;
  for (int64_t i : grads) {
    if (i == 1)
      l.xs = true;
    else if (i >= 2)
      l.accs.push_back(size_t(i - 2));
  }
  return l;
}

ScanGradLayout scanGradLayout(const Op &op) {
  return scanGradLayout(loopExtraCount(op), op.attrs.grads, size_t(op.attrs.residuals));
}

bool partsOfOneLoop(const Op &a, const Op &b) {
  return familyOf(a.kind) == OpFamily::Loop && a.kind == b.kind && a.attrs.body == b.attrs.body &&
         a.operands == b.operands && a.attrs.axis == b.attrs.axis &&
         a.attrs.reverse == b.attrs.reverse && a.attrs.grads == b.attrs.grads &&
         a.attrs.residuals == b.attrs.residuals;
}

std::optional<TensorType> loopResultType(const Op &op, std::string &problem) {
  auto fail = [&](std::string message) -> std::optional<TensorType> {
    problem = std::move(message);
    return std::nullopt;
  };
  bool isGrad = op.kind == OpKind::ScanGrad;
  if (op.attrs.residuals < 0)
    return fail("its residual count is negative");
  size_t fixed = fixedOperands(op);
  if (op.operands.size() < fixed)
    return fail(fmt::format("it takes at least {} operands", fixed));
  const Function *body = op.attrs.body.get();
  if (!body)
    return fail("it has no body");
  const TensorType &init = op.operands[0]->type, &xs = op.operands[1]->type;
  int64_t axis = op.attrs.axis;
  if (axis < 0 || axis >= int64_t(xs.rank()))
    return fail(fmt::format("axis {} is out of range for xs, {}", axis, xs.str()));
  if (axis > int64_t(init.rank()))
    return fail(fmt::format("axis {} is past the axes of the state, {}", axis, init.str()));
  size_t extras = op.operands.size() - fixed;
  const Dim &length = xs.shape[size_t(axis)];
  TensorType slice{xs.dtype, sliceShape(xs.shape, axis)};
  TensorType stacked{init.dtype, stackedShape(init.shape, axis, length)};
  // Residuals and the states S of a scan_grad are stacked time-major.
  auto timeMajorSlice = [&](const TensorType &t) -> std::optional<TensorType> {
    if (t.rank() == 0 || !(t.shape[0] == length))
      return std::nullopt;
    return TensorType{t.dtype, sliceShape(t.shape, 0)};
  };

  std::vector<TensorType> args = {init, slice}, results = {init};
  for (size_t j = 0; j < extras; ++j)
    args.push_back(op.operands[2 + j]->type);
  if (isGrad) {
    TensorType states{init.dtype, stackedShape(init.shape, 0, length)};
    if (!(op.operands[2 + extras]->type == states))
      return fail(fmt::format("its states must be {}, stacked time-major, not {}", states.str(),
                              op.operands[2 + extras]->type.str()));
    if (!(op.operands[3 + extras]->type == stacked))
      return fail(fmt::format("its gradient must be {}, that of the states, not {}", stacked.str(),
                              op.operands[3 + extras]->type.str()));
    const std::vector<int64_t> &grads = op.attrs.grads;
    for (size_t i = 0; i < grads.size(); ++i)
      if (grads[i] < 0 || grads[i] >= int64_t(2 + extras) || (i && grads[i] <= grads[i - 1]))
        return fail("its grads must be distinct operand indices below the states, in order");
    if (std::find(grads.begin(), grads.end(), op.attrs.part) == grads.end())
      return fail(fmt::format("its part {} is not among its grads", op.attrs.part));
    ScanGradLayout layout = scanGradLayout(op);
    args.push_back(init); // gh
    args.push_back(init); // carry
    if (layout.xs)
      results.push_back(slice);
    for (size_t j : layout.accs) {
      args.push_back(op.operands[2 + j]->type);
      results.push_back(op.operands[2 + j]->type);
    }
    args.push_back(init); // h
    for (size_t i = 0; i < layout.residuals; ++i) {
      std::optional<TensorType> r = timeMajorSlice(op.operands[4 + extras + i]->type);
      if (!r)
        return fail(fmt::format("its residual {} must have {} steps along axis 0, not {}", i,
                                length.str(), op.operands[4 + extras + i]->type.str()));
      args.push_back(*r);
    }
  }
  if (body->args.size() != args.size())
    return fail(fmt::format("its body takes {} arguments, not {}", args.size(), body->args.size()));
  for (size_t i = 0; i < args.size(); ++i)
    if (!(body->args[i]->value.type == args[i]) || body->args[i]->role != ArgRole::Input)
      return fail(fmt::format("argument {} of its body must be an input {}, not {} {}", i,
                              args[i].str(), roleName(body->args[i]->role),
                              body->args[i]->value.type.str()));
  // A scan's body returns the state, then any residuals.
  size_t returned = body->results.size();
  if (isGrad ? returned != results.size() : returned < 1)
    return fail(fmt::format("its body returns {} values, not {}{}", returned, results.size(),
                            isGrad ? "" : " or more"));
  for (size_t i = 0; i < results.size(); ++i)
    if (!(body->results[i].value->type == results[i]))
      return fail(fmt::format("result {} of its body must be {}, not {}", i, results[i].str(),
                              body->results[i].value->type.str()));
  if (isGrad)
    return op.operands[size_t(op.attrs.part)]->type;
  if (op.attrs.part < -1 || op.attrs.part >= int64_t(returned))
    return fail(fmt::format("its part {} is not -1 or one of its body's {} results", op.attrs.part,
                            returned));
  if (op.attrs.part == 0)
    return stacked;
  const TensorType &part = body->results[size_t(std::max<int64_t>(op.attrs.part, 0))].value->type;
  return TensorType{part.dtype, stackedShape(part.shape, 0, length)};
}

} // namespace nabla::ir
