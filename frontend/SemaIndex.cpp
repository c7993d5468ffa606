//===- SemaIndex.cpp - Indexing x[i, a:b, ...] ----------------------------===//
//
// language.md §11: per axis from the first an integer (the axis goes), a
// slice lo:hi (step 1, NumPy's clamping) or one `...` standing for as many
// `:` as needed; axes not named are kept whole. Bounds are compile-time
// integers, negative ones counting from the end. The IR's sizes are
// monomials (B, 28, 2*B), so an axis of symbolic size is taken whole (`:`):
// its end is not known when the script is compiled.
//
//===----------------------------------------------------------------------===//
#include "frontend/SemaImpl.h"

#include <llvm/Support/Casting.h>

#include <cmath>

namespace nabla::sema {

namespace {

/// Where each axis of the operand comes from: whole, a range, or one position.
struct AxisPick {
  /// length -1: the whole axis; a negative start (a symbolic axis only)
  /// counts back from the end.
  int64_t start = 0, length = -1;
  bool drop = false; ///< an integer index: the axis goes
};

} // namespace

Value Sema::evalIndex(const ast::IndexExpr &e, Scope &scope) {
  Value base = eval(*e.base, scope);
  // Evaluate every bound first, so that each is checked even when the base is bad.
  struct Bounds {
    std::optional<int64_t> integer, lo, hi;
    bool ok = true;
  };
  std::vector<Bounds> bounds(e.items.size());
  auto integerOf = [&](const ast::Expr &x, std::optional<int64_t> &out) {
    std::optional<double> v = evalNumber(x, scope, "an index");
    if (!v)
      return false;
    if (*v != std::floor(*v) || std::fabs(*v) > double(kMaxDimSize)) {
      error(ast::beginLoc(x), "an index must be an integer, but this is {}", *v);
      return false;
    }
    out = int64_t(*v);
    return true;
  };
  size_t ellipses = 0;
  for (size_t i = 0; i < e.items.size(); ++i) {
    const ast::IndexItem &item = e.items[i];
    Bounds &b = bounds[i];
    switch (item.kind) {
    case ast::IndexItem::Kind::Integer: b.ok = integerOf(*item.integer, b.integer); break;
    case ast::IndexItem::Kind::Slice:
      // Both bounds are checked, even when the first is bad.
      b.ok = !item.lo || integerOf(*item.lo, b.lo);
      b.ok = (!item.hi || integerOf(*item.hi, b.hi)) && b.ok;
      break;
    case ast::IndexItem::Kind::Ellipsis:
      if (++ellipses > 1) {
        error(item.loc, "an index may hold one '...' only");
        b.ok = false;
      }
      break;
    }
  }
  if (base.isPoison() || scope.checkingOnly)
    return Value::poison(e.loc());
  Node *x = base.kind == Value::Kind::Tensor ? base.node : nullptr;
  if (!x) {
    error(e.loc(), "only a tensor can be indexed, but this is {}", base.describe());
    return Value::poison(e.loc());
  }
  for (const Bounds &b : bounds)
    if (!b.ok)
      return Value::poison(e.loc());

  const Shape &shape = x->type.shape;
  size_t named = e.items.size() - ellipses;
  if (named > shape.size()) {
    // Point at the first entry past the axes (counting `...` as none).
    size_t first = 0;
    for (size_t seen = 0; first < e.items.size(); ++first)
      if (e.items[first].kind != ast::IndexItem::Kind::Ellipsis && seen++ == shape.size())
        break;
    error(e.items[first].loc, "too many indices: {} has {} ax{}, and the index names {}",
          x->type.str(), shape.size(), shape.size() == 1 ? "is" : "es", named);
    noteOrigin(x);
    return Value::poison(e.loc());
  }
  // Which entry applies to each axis: `...` stands for the axes the others leave.
  std::vector<AxisPick> picks(shape.size());
  size_t axis = 0;
  bool changed = false;
  for (size_t i = 0; i < e.items.size(); ++i) {
    const ast::IndexItem &item = e.items[i];
    if (item.kind == ast::IndexItem::Kind::Ellipsis) {
      axis += shape.size() - named;
      continue;
    }
    const Dim &size = shape[axis];
    const Bounds &b = bounds[i];
    bool whole = item.kind == ast::IndexItem::Kind::Slice && !b.lo && !b.hi;
    if (whole) {
      ++axis;
      continue;
    }
    AxisPick &pick = picks[axis];
    if (!size.isConcrete()) {
      // The size is bound at run time: a negative position counts from the
      // end (a negative start below), and the range is checked then. A
      // slice must have a size a type can write: both bounds from the same
      // end, or `-k:`, `:k`.
      if (item.kind == ast::IndexItem::Kind::Integer) {
        pick = {*b.integer, 1, true};
      } else {
        std::optional<int64_t> lo = b.lo, hi = b.hi;
        if (!lo && hi && *hi >= 0)
          lo = 0;
        if (lo && !hi && *lo < 0)
          hi = 0; // `-k:`: to the end
        bool sameEnd = lo && hi && ((*lo >= 0 && *hi > *lo) || (*lo < 0 && *hi <= 0 && *hi > *lo));
        if (!sameEnd) {
          error(item.loc,
                "axis {} of {} has the symbolic size {}: a slice of it must count both bounds "
                "from the same end ('2:5', '-3:-1', '-3:', ':4') so that its size is known",
                axis, x->type.str(), size.str());
          noteOrigin(x);
          return Value::poison(e.loc());
        }
        pick = {*lo, *hi - *lo, false};
      }
      changed = true;
      ++axis;
      continue;
    }
    int64_t n = size.coefficient();
    if (item.kind == ast::IndexItem::Kind::Integer) {
      int64_t at = *b.integer < 0 ? *b.integer + n : *b.integer;
      if (at < 0 || at >= n) {
        error(item.loc, "index {} is out of range for axis {} of {}, whose size is {}", *b.integer,
              axis, x->type.str(), n);
        noteOrigin(x);
        return Value::poison(e.loc());
      }
      pick = {at, 1, true};
    } else {
      // NumPy: negative bounds count from the end, then both are clamped.
      auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
        int64_t at = v ? (*v < 0 ? *v + n : *v) : fallback;
        return std::clamp<int64_t>(at, 0, n);
      };
      int64_t lo = clamp(b.lo, 0), hi = clamp(b.hi, n);
      if (hi <= lo) {
        error(item.loc, "the slice is empty: it takes {} to {} of axis {} of {}, whose size is {}",
              lo, hi, axis, x->type.str(), n);
        noteOrigin(x);
        return Value::poison(e.loc());
      }
      if (hi - lo == n) {
        ++axis;
        continue;
      }
      pick = {lo, hi - lo, false};
    }
    changed = true;
    ++axis;
  }
  if (!changed)
    return Value::makeTensor(x, e.loc());

  Shape out;
  NodeAttrs attrs;
  for (size_t d = 0; d < shape.size(); ++d) {
    const AxisPick &p = picks[d];
    attrs.starts.push_back(p.start);
    attrs.lengths.push_back(p.length);
    if (p.drop)
      attrs.axes.push_back(int64_t(d));
    else
      out.push_back(p.length < 0 ? shape[d] : Dim(p.length));
  }
  Node *node = newNode(Node::Kind::Op, TensorType{x->type.dtype, out}, e.loc());
  if (!node)
    return Value::poison(e.loc());
  node->op = Builtin::Index;
  node->operands = {x};
  node->attrs = attrs;
  return Value::makeTensor(node, e.loc());
}

} // namespace nabla::sema
