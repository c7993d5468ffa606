#include "passes/BatchRows.h"

#include "ir/Loops.h"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

namespace nabla::passes {

namespace {

bool mentions(const Dim &d, const std::string &batch) {
  const std::vector<std::string> &s = d.symbols();
  return std::find(s.begin(), s.end(), batch) != s.end();
}

bool hasBatch(const ir::Value &v, const std::string &batch) {
  return std::any_of(v.type.shape.begin(), v.type.shape.end(),
                     [&](const Dim &d) { return mentions(d, batch); });
}

/// Empty when `v` has B exactly as its first axis and nowhere else, or not
/// at all.
std::string badPlacement(const ir::Value &v, const std::string &batch) {
  const Shape &shape = v.type.shape;
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    bool ok = axis == 0 ? !mentions(shape[0], batch) || shape[0] == Dim::symbol(batch)
                        : !mentions(shape[axis], batch);
    if (!ok)
      return fmt::format("its type {} has the size {} other than as the first axis", v.type.str(),
                         batch);
  }
  return "";
}

/// Empty when `op` keeps the examples apart (given that its operands and
/// result are placed well).
std::string mixesRows(const ir::Op &op, const std::string &batch) {
  bool operandHasBatch = std::any_of(op.operands.begin(), op.operands.end(),
                                     [&](const ir::Value *v) { return hasBatch(*v, batch); });
  if (op.kind == ir::OpKind::DimSize && mentions(op.attrs.dim, batch))
    return fmt::format("it reads the size {} (a mean over the examples does)", batch);
  if (!operandHasBatch)
    return "";
  if (!hasBatch(op.result, batch))
    return fmt::format("it combines the examples (its operand has the size {}, its result {} "
                       "does not)",
                       batch, op.result.type.str());
  unsigned attrs = op.info().attrs;
  if ((attrs & ir::kAttrAxes) && std::count(op.attrs.axes.begin(), op.attrs.axes.end(), 0))
    return "it reduces along the examples' axis";
  bool alongAxis0 = (attrs & ir::kAttrAxis) && op.attrs.axis == 0;
  bool wholeSlice =
      op.kind == ir::OpKind::Slice && op.result.type.shape == op.operands[0]->type.shape;
  if (alongAxis0 && !wholeSlice)
    return fmt::format("{} works along the examples' axis", op.info().name);
  if ((attrs & ir::kAttrPerm) && !op.attrs.perm.empty() && op.attrs.perm[0] != 0)
    return "it moves the examples' axis";
  return "";
}

/// The first argument or op of `fn` that mixes the examples; a loop's body
/// (whose steps see one slice of each example) is checked the same way.
std::optional<MixedRows> findInOps(const ir::Function &fn, const std::string &batch) {
  for (const auto &arg : fn.args)
    if (std::string why = badPlacement(arg->value, batch); !why.empty())
      return MixedRows{arg->loc,
                       fmt::format("{} '{}': {}", ir::roleName(arg->role), arg->value.name, why)};
  for (const auto &op : fn.ops) {
    std::string why = badPlacement(op->result, batch);
    if (why.empty())
      why = mixesRows(*op, batch);
    if (!why.empty())
      return MixedRows{op->loc, fmt::format("{}: {}", op->info().name, why)};
    if (op->attrs.body)
      if (std::optional<MixedRows> inner = findInOps(*op->attrs.body, batch))
        return inner;
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> loopRows(const ir::Op &loop) {
  const Shape &state = loop.operands[0]->type.shape, &xs = loop.operands[1]->type.shape;
  if (loop.attrs.axis == 0 || state.empty() || xs.empty() || !(state[0] == xs[0]) ||
      state[0].symbols().size() != 1 || !(state[0] == Dim::symbol(state[0].symbols()[0])))
    return std::nullopt;
  std::string rows = state[0].symbols()[0];
  const ir::Function &body = *loop.attrs.body;
  // Each value: per row (B first, nowhere else), shared (no B), a sum over
  // the rows, or an accumulator plus such a sum.
  enum class Kind { Rows, Shared, RowSum, Accumulated };
  std::unordered_map<const ir::Value *, Kind> kind;
  auto classify = [&](const ir::Value &v) -> std::optional<Kind> {
    if (!badPlacement(v, rows).empty())
      return std::nullopt;
    return hasBatch(v, rows) ? Kind::Rows : Kind::Shared;
  };
  std::unordered_set<const ir::Value *> accumulators;
  if (loop.kind == ir::OpKind::ScanGrad) {
    ir::ScanGradLayout g = ir::scanGradLayout(loop);
    for (size_t i = 0; i < g.accs.size(); ++i)
      accumulators.insert(&body.args[g.accArg(i)]->value);
  }
  size_t extras = ir::loopExtraCount(loop);
  for (size_t i = 0; i < body.args.size(); ++i) {
    std::optional<Kind> k = classify(body.args[i]->value);
    if (!k)
      return std::nullopt;
    // The extras reach every share whole: one with rows would need its
    // share's rows (a per-example bias), so such a loop runs whole.
    bool extra = i >= 2 && i < 2 + extras;
    if (extra && *k == Kind::Rows)
      return std::nullopt;
    kind[&body.args[i]->value] = *k;
  }
  for (const auto &op : body.ops) {
    bool rowOperand = false, sumOperand = false;
    for (const ir::Value *v : op->operands) {
      rowOperand |= kind.at(v) == Kind::Rows;
      sumOperand |= kind.at(v) == Kind::RowSum || kind.at(v) == Kind::Accumulated;
    }
    Kind k = Kind::Shared;
    if (sumOperand) {
      // acc + a sum over the rows, nothing else.
      const ir::Value *a = op->operands[0],
                      *b = op->operands.size() > 1 ? op->operands[1] : nullptr;
      bool accPlusSum = op->kind == ir::OpKind::Add && b &&
                        ((accumulators.count(a) && kind.at(b) == Kind::RowSum) ||
                         (accumulators.count(b) && kind.at(a) == Kind::RowSum));
      if (!accPlusSum)
        return std::nullopt;
      k = Kind::Accumulated;
    } else if (rowOperand) {
      std::optional<Kind> placed = classify(op->result);
      if (!placed)
        return std::nullopt;
      if (*placed == Kind::Rows && mixesRows(*op, rows).empty() && !op->attrs.body) {
        k = Kind::Rows;
      } else if (*placed == Kind::Shared && loop.kind == ir::OpKind::ScanGrad &&
                 ((op->kind == ir::OpKind::MatMul && op->attrs.transposeA &&
                   !op->attrs.transposeB && op->operands[0]->type.rank() == 2 &&
                   kind.at(op->operands[0]) == Kind::Rows &&
                   kind.at(op->operands[1]) == Kind::Rows) ||
                  (op->kind == ir::OpKind::ReduceSum &&
                   op->attrs.axes == std::vector<int64_t>{0}))) {
        k = Kind::RowSum; // rowᵀ G, or a sum over axis 0
      } else {
        return std::nullopt;
      }
    } else if (op->kind == ir::OpKind::DimSize && mentions(op->attrs.dim, rows)) {
      return std::nullopt;
    }
    kind[&op->result] = k;
  }
  // Per-step results per row; a scan_grad's accumulators accumulated.
  for (size_t i = 0; i < body.results.size(); ++i) {
    Kind k = kind.at(body.results[i].value);
    bool accumulator = loop.kind == ir::OpKind::ScanGrad &&
                       i >= body.results.size() - ir::scanGradLayout(loop).accs.size();
    bool ok = accumulator ? k == Kind::Accumulated || accumulators.count(body.results[i].value)
                          : k == Kind::Rows;
    if (!ok)
      return std::nullopt;
  }
  return rows;
}

std::optional<MixedRows> findMixedRows(const ir::Function &fn, const std::string &batch) {
  if (std::optional<MixedRows> found = findInOps(fn, batch))
    return found;
  for (const ir::Result &r : fn.results)
    if (r.value->type.shape.empty() || !(r.value->type.shape[0] == Dim::symbol(batch)))
      return MixedRows{{},
                       fmt::format("{} '{}' ({}) does not have one row per example",
                                   ir::roleName(r.role), r.name, r.value->type.str())};
  return std::nullopt;
}

} // namespace nabla::passes
