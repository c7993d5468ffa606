#include "passes/Simplify.h"
#include "passes/Rewriter.h"

#include <algorithm>

namespace nabla::passes {

using namespace ir;

namespace {

bool isConstant(const Value *v, double value) {
  std::optional<double> c = constantValue(v);
  return c && *c == value;
}

/// Whether `perm` swaps the last two axes and keeps the others.
bool swapsLastTwo(const std::vector<int64_t> &perm) {
  size_t r = perm.size();
  if (r < 2 || perm[r - 1] != int64_t(r - 2) || perm[r - 2] != int64_t(r - 1))
    return false;
  for (size_t i = 0; i + 2 < r; ++i)
    if (perm[i] != int64_t(i))
      return false;
  return true;
}

bool isIdentity(const std::vector<int64_t> &perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != int64_t(i))
      return false;
  return true;
}

/// The axes of a broadcast's result that it stretches: those it adds in
/// front, and those where the operand has size 1 and the result does not.
std::vector<int64_t> stretchedAxes(const Shape &from, const Shape &to) {
  std::vector<int64_t> axes;
  size_t added = to.size() - from.size();
  for (size_t d = 0; d < to.size(); ++d)
    if (d < added || (from[d - added].isOne() && !to[d].isOne()))
      axes.push_back(int64_t(d));
  return axes;
}

class Simplifier {
public:
  explicit Simplifier(Rewriter &r) : r_(r) {}

  Value *visit(Op &op) {
    switch (op.info().family) {
    case OpFamily::Unary: // -(-x)
      return op.kind == OpKind::Neg ? doubleNegation(op) : nullptr;
    case OpFamily::Binary: return binary(op, asBinary(op.kind));
    case OpFamily::Select: return select(op);
    case OpFamily::Layout: return layout(op, asLayout(op.kind));
    case OpFamily::Reduction:
      return asReduction(op.kind) == ReductionOp::LogSumExp ? nullptr : reductionOfBroadcast(op);
    case OpFamily::MatMul: return matmul(op);
    case OpFamily::Leaf:
    case OpFamily::Comparison:
    case OpFamily::Neural:
    case OpFamily::Convolution:
    case OpFamily::Pooling:
    case OpFamily::Loop: return nullptr;
    }
    return nullptr;
  }

private:
  Value *binary(Op &op, BinaryOp kind) {
    Value *a = op.operands[0], *b = op.operands[1];
    switch (kind) {
    case BinaryOp::Add: // x + 0, 0 + x
      if (isConstant(b, 0))
        return a;
      if (isConstant(a, 0))
        return b;
      return sumOfConcats(op);
    case BinaryOp::Sub: // x - 0, x - x
      if (isConstant(b, 0))
        return a;
      if (a == b)
        return r_.builder().constant(0, op.result.type);
      return nullptr;
    case BinaryOp::Mul: // x * 1, 1 * x
      if (isConstant(b, 1))
        return a;
      if (isConstant(a, 1))
        return b;
      return nullptr;
    case BinaryOp::SafeMul: // 0 where a = 0, else a b: with b = 1 it is a; with a = 1, b
      if (isConstant(b, 1))
        return a;
      if (isConstant(a, 1))
        return b;
      return nullptr;
    case BinaryOp::Div: // x / 1
      return isConstant(b, 1) ? a : nullptr;
    case BinaryOp::Pow:
    case BinaryOp::Max:
    case BinaryOp::Min: return nullptr;
    }
    return nullptr;
  }

  /// (a_1 | a_2 | ...) + (b_1 | b_2 | ...), two concats along one axis, is
  /// the concat of the sums piece by piece, the pieces cut where either side
  /// has a boundary: a part of one side cut by the other's boundaries must be
  /// a constant (narrowed to each piece), and a zero piece adds nothing. The
  /// gradients of the slices of one value arrive this way, each padded with
  /// zeros around it (an LSTM cell's four gates): their sum becomes one
  /// concat. Applied only when some piece is zero.
  Value *sumOfConcats(Op &op) {
    Op *ca = op.operands[0]->def, *cb = op.operands[1]->def;
    if (!ca || !cb || ca->kind != OpKind::Concat || cb->kind != OpKind::Concat ||
        ca->attrs.axis != cb->attrs.axis)
      return nullptr;
    size_t axis = size_t(ca->attrs.axis);
    auto boundaries = [&](const Op &c) -> std::optional<std::vector<int64_t>> {
      std::vector<int64_t> at = {0};
      for (const Value *part : c.operands) {
        const Dim &d = part->type.shape[axis];
        if (!d.isConcrete())
          return std::nullopt;
        at.push_back(at.back() + d.coefficient());
      }
      return at;
    };
    std::optional<std::vector<int64_t>> ba = boundaries(*ca), bb = boundaries(*cb);
    if (!ba || !bb)
      return nullptr;
    std::vector<int64_t> cuts = *ba;
    cuts.insert(cuts.end(), bb->begin(), bb->end());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    // The piece [lo, hi) of concat `c`: its part, or a narrower constant.
    struct Piece {
      Value *value = nullptr;
      std::optional<double> constant;
    };
    auto piece = [&](const Op &c, const std::vector<int64_t> &at, int64_t lo,
                     int64_t hi) -> std::optional<Piece> {
      size_t i = size_t(std::upper_bound(at.begin(), at.end(), lo) - at.begin()) - 1;
      Value *part = c.operands[i];
      std::optional<double> k = constantValue(part);
      if (at[i] == lo && at[i + 1] == hi)
        return Piece{part, k};
      if (!k)
        return std::nullopt;
      return Piece{nullptr, k};
    };
    std::vector<std::pair<Piece, Piece>> pieces;
    bool someZero = false;
    for (size_t j = 0; j + 1 < cuts.size(); ++j) {
      std::optional<Piece> x = piece(*ca, *ba, cuts[j], cuts[j + 1]);
      std::optional<Piece> y = piece(*cb, *bb, cuts[j], cuts[j + 1]);
      if (!x || !y)
        return nullptr;
      someZero |= (x->constant && *x->constant == 0) || (y->constant && *y->constant == 0);
      pieces.emplace_back(*x, *y);
    }
    if (!someZero)
      return nullptr;
    std::vector<Value *> sums;
    for (size_t j = 0; j < pieces.size(); ++j) {
      TensorType type = op.result.type;
      type.shape[axis] = Dim(cuts[j + 1] - cuts[j]);
      auto valueOf = [&](const Piece &p) {
        return p.value ? p.value : r_.builder().constant(*p.constant, type);
      };
      const auto &[x, y] = pieces[j];
      if (x.constant && *x.constant == 0)
        sums.push_back(valueOf(y));
      else if (y.constant && *y.constant == 0)
        sums.push_back(valueOf(x));
      else
        sums.push_back(r_.builder().add(valueOf(x), valueOf(y)));
    }
    return r_.builder().concat(sums, int64_t(axis), op.result.type);
  }

  /// -(-x) is x.
  Value *doubleNegation(Op &op) {
    Value *a = op.operands[0];
    return a->def && a->def->kind == OpKind::Neg ? a->def->operands[0] : nullptr;
  }

  /// select(m, x, x) is x; a constant mask picks one side.
  Value *select(Op &op) {
    Value *m = op.operands[0], *a = op.operands[1], *b = op.operands[2];
    if (a == b)
      return a;
    if (std::optional<double> c = constantValue(m))
      return *c != 0 ? a : b;
    return nullptr;
  }

  Value *layout(Op &op, LayoutOp kind) {
    Value *a = op.operands[0];
    const TensorType &type = op.result.type;
    switch (kind) {
    case LayoutOp::Broadcast: // to its own shape; of a constant
      if (a->type == type)
        return a;
      if (std::optional<double> c = constantValue(a))
        return r_.builder().constant(*c, type);
      return nullptr;
    case LayoutOp::Reshape: // to its own shape; of a reshape
      if (a->type == type)
        return a;
      if (a->def && a->def->kind == OpKind::Reshape) {
        Value *inner = a->def->operands[0];
        return inner->type == type ? inner : r_.builder().create(OpKind::Reshape, {inner}, type);
      }
      return nullptr;
    case LayoutOp::Transpose: return transpose(op);
    case LayoutOp::Slice: return slice(op);
    case LayoutOp::Concat:
    case LayoutOp::Pad: return nullptr;
    }
    return nullptr;
  }

  /// A slice of a whole axis is its operand; of a constant, a constant; of a
  /// concat along the same axis, the operand it falls in (or a slice of it).
  /// The graphs that indexing and scan build, and their gradients, are full
  /// of these: a scan's states joined, then one taken; zeros around a
  /// gradient, then sliced again.
  Value *slice(Op &op) {
    Value *a = op.operands[0];
    const TensorType &type = op.result.type;
    if (a->type == type)
      return a;
    if (std::optional<double> c = constantValue(a))
      return r_.builder().constant(*c, type);
    int64_t axis = op.attrs.axis;
    if (!a->def || a->def->kind != OpKind::Concat || a->def->attrs.axis != axis || op.attrs.fromEnd)
      return nullptr;
    const Dim &start = op.attrs.start, &length = type.shape[size_t(axis)];
    Dim offset(0);
    for (Value *part : a->def->operands) {
      const Dim &size = part->type.shape[size_t(axis)];
      if (offset == start && size == length)
        return part;
      if (offset.isConcrete() && size.isConcrete() && start.isConcrete() && length.isConcrete() &&
          start.coefficient() >= offset.coefficient() &&
          start.coefficient() + length.coefficient() <= offset.coefficient() + size.coefficient())
        return r_.builder().slice(part, axis, Dim(start.coefficient() - offset.coefficient()),
                                  type);
      std::optional<Dim> next = Dim::sum(offset, size);
      if (!next)
        return nullptr;
      offset = *next;
    }
    return nullptr;
  }

  /// transpose(transpose(x)) is one transpose, or x; an identity permutation is x.
  Value *transpose(Op &op) {
    Value *a = op.operands[0];
    if (isIdentity(op.attrs.perm))
      return a;
    if (!a->def || a->def->kind != OpKind::Transpose)
      return nullptr;
    // Result axis i is inner axis perm[i], which is x's axis inner.perm[perm[i]].
    const std::vector<int64_t> &inner = a->def->attrs.perm;
    Attrs combined;
    for (int64_t p : op.attrs.perm)
      combined.perm.push_back(inner[size_t(p)]);
    Value *x = a->def->operands[0];
    if (isIdentity(combined.perm))
      return x;
    return r_.builder().create(OpKind::Transpose, {x}, op.result.type, combined);
  }

  /// A transpose of the last two axes of a matmul operand becomes the
  /// operand's transpose flag.
  Value *matmul(Op &op) {
    Attrs attrs = op.attrs;
    Value *a = op.operands[0], *b = op.operands[1];
    bool changed = false;
    auto fold = [&](Value *&operand, bool &flag) {
      if (operand->def && operand->def->kind == OpKind::Transpose &&
          swapsLastTwo(operand->def->attrs.perm) && operand->type.rank() >= 2) {
        operand = operand->def->operands[0];
        flag = !flag;
        changed = true;
      }
    };
    fold(a, attrs.transposeA);
    fold(b, attrs.transposeB);
    return changed ? r_.builder().create(OpKind::MatMul, {a, b}, op.result.type, attrs) : nullptr;
  }

  /// Reducing exactly the axes a broadcast stretched gives back its operand:
  /// times the number of copies for a sum, as it is for max and min.
  Value *reductionOfBroadcast(Op &op) {
    Value *a = op.operands[0];
    if (!a->def || a->def->kind != OpKind::Broadcast)
      return nullptr;
    Value *x = a->def->operands[0];
    const Shape &to = a->type.shape;
    std::vector<int64_t> stretched = stretchedAxes(x->type.shape, to);
    std::vector<int64_t> reduced = op.attrs.axes;
    // Reduced axes of size 1 change nothing; ignore them on both sides.
    auto sizeOne = [&](int64_t d) { return to[size_t(d)].isOne(); };
    std::erase_if(stretched, sizeOne);
    std::erase_if(reduced, sizeOne);
    if (reduced != stretched || reduced.empty())
      return nullptr;
    Value *value = x;
    if (op.kind == OpKind::ReduceSum) {
      Dim copies(1);
      for (int64_t d : reduced) {
        std::optional<Dim> p = Dim::product(copies, to[size_t(d)]);
        if (!p)
          return nullptr;
        copies = *p;
      }
      ir::Builder &b = r_.builder();
      // A known count is a constant of x's type; a symbolic one a scalar
      // dim_size, stretched to x.
      Value *count =
          copies.isConcrete()
              ? b.constant(double(copies.coefficient()), x->type)
              : b.broadcast(b.size(copies, TensorType{x->type.dtype, {}}), x->type.shape);
      value = b.mul(x, count);
    }
    return value->type == op.result.type
               ? value
               : r_.builder().create(OpKind::Reshape, {value}, op.result.type);
  }

  Rewriter &r_;
};

} // namespace

bool simplify(Function &fn) {
  Rewriter rewriter(fn);
  Simplifier simplifier(rewriter);
  return rewriter.run([&](Op &op) { return simplifier.visit(op); });
}

} // namespace nabla::passes
