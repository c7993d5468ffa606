#include "ir/InterpreterLoops.h"
#include "ir/Loops.h"

#include <algorithm>

namespace nabla::ir::kernels {

namespace {

/// How `shape` splits around `axis`: the elements before it, its size, after it.
struct AxisSplit {
  int64_t outer = 1, length = 1, inner = 1;
};
AxisSplit splitAt(const Shape &shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d)
    (d < axis ? s.outer : d == axis ? s.length : s.inner) *= shape[size_t(d)];
  return s;
}

/// Slice t of `b` along `axis`, the axis dropped.
Buffer sliceAt(const Buffer &b, int64_t axis, int64_t t) {
  Buffer out = slice(b, axis, t, 1);
  out.shape.erase(out.shape.begin() + axis);
  return out;
}

/// Writes `part` into slice t of `b` along `axis`.
void putAt(Buffer &b, int64_t axis, int64_t t, const Buffer &part) {
  AxisSplit s = splitAt(b.shape, axis);
  for (int64_t o = 0; o < s.outer; ++o)
    std::copy_n(part.v.begin() + o * s.inner, s.inner, b.v.begin() + (o * s.length + t) * s.inner);
}

Buffer zerosLike(const Buffer &b) { return Buffer{std::vector<double>(b.v.size()), b.shape}; }

} // namespace

std::optional<Buffer> loop(const Op &op, const std::vector<const Buffer *> &in,
                           const RunBody &run) {
  const Function &body = *op.attrs.body;
  int64_t axis = op.attrs.axis;
  const Buffer &init = *in[0], &xs = *in[1];
  int64_t steps = xs.shape[size_t(axis)];
  size_t extras = loopExtraCount(op);
  auto position = [&](int64_t visit) { return op.attrs.reverse ? steps - 1 - visit : visit; };

  if (op.kind == OpKind::Scan) {
    // Result `part` of every visit, stacked; the state carried along.
    Buffer stacked, state = init;
    for (int64_t visit = 0; visit < steps; ++visit) {
      std::vector<Buffer> args = {state, sliceAt(xs, axis, position(visit))};
      for (size_t j = 0; j < extras; ++j)
        args.push_back(*in[2 + j]);
      std::optional<std::vector<Buffer>> r = run(body, std::move(args));
      if (!r)
        return std::nullopt;
      const Buffer &part = (*r)[size_t(std::max<int64_t>(op.attrs.part, 0))];
      int64_t along = op.attrs.part ? 0 : axis; // residuals are time-major
      if (visit == 0) {
        stacked.shape = part.shape;
        stacked.shape.insert(stacked.shape.begin() + along, steps);
        stacked.v.assign(part.v.size() * size_t(steps), 0);
      }
      putAt(stacked, along, position(visit), part);
      state = std::move((*r)[0]);
    }
    return stacked;
  }

  // scan_grad: the visits in the other order, the gradient carried back.
  ScanGradLayout layout = scanGradLayout(op);
  const Buffer &states = *in[2 + extras], &g = *in[3 + extras]; // states: time-major
  Buffer carry = zerosLike(init);
  Buffer dxs = layout.xs ? zerosLike(xs) : Buffer{};
  std::vector<Buffer> accs;
  for (size_t j : layout.accs)
    accs.push_back(zerosLike(*in[2 + j]));
  for (int64_t visit = steps; visit-- > 0;) {
    int64_t t = position(visit);
    std::vector<Buffer> args = {visit ? sliceAt(states, 0, position(visit - 1)) : init,
                                sliceAt(xs, axis, t)};
    for (size_t j = 0; j < extras; ++j)
      args.push_back(*in[2 + j]);
    args.push_back(sliceAt(g, axis, t));
    args.push_back(std::move(carry));
    for (Buffer &acc : accs)
      args.push_back(std::move(acc));
    args.push_back(sliceAt(states, 0, t));
    for (size_t i = 0; i < layout.residuals; ++i)
      args.push_back(sliceAt(*in[4 + extras + i], 0, t));
    std::optional<std::vector<Buffer>> r = run(body, std::move(args));
    if (!r)
      return std::nullopt;
    carry = std::move((*r)[0]);
    if (layout.xs)
      putAt(dxs, axis, t, (*r)[layout.dxResult()]);
    for (size_t i = 0; i < accs.size(); ++i)
      accs[i] = std::move((*r)[layout.accResult(i)]);
  }
  if (op.attrs.part == 0)
    return carry;
  if (op.attrs.part == 1)
    return dxs;
  auto j = std::find(layout.accs.begin(), layout.accs.end(), size_t(op.attrs.part - 2));
  return accs[size_t(j - layout.accs.begin())];
}

} // namespace nabla::ir::kernels
