//===- Loops.h - The operands and bodies of scan and scan_grad --*- C++ -*-===//
//
// A loop op runs its body function once per step. For T steps along `axis`
// of xs (T = xs's size there):
//
//   scan(init, xs, e1..en)        body(prev, x, e1..en) -> h, r1..rk
//
// visits t = 0..T-1 (T-1..0 with reverse); x is xs's slice t along axis, prev
// is init at the first visit and the previous visit's h after it. Part 0 of
// the loop (the op with part = 0) stacks h_t at position t along axis: the
// states, hs. Part p > 0 stacks the body's result r_p at position t along
// axis 0, time-major whatever the axis, so that each step's slice is one
// contiguous run: a residual, a value the backward loop reads instead of
// computing it again. Part -1 stacks the states time-major (for a backward
// loop, when hs is not).
// The gradient, given g = d/d hs, is one loop in the other order:
//
//   scan_grad(init, xs, e1..en, S, g, R1..Rk)
//       body(prev, x, e1..en, gh, carry, acc..., h, r1..rk) -> carry', [dx], acc'...
//
// where S holds the states stacked time-major (hs itself when axis is 0), gh
// is g's slice t along axis, h, prev and r_i are slices of S and R_i, carry the
// gradient reaching h_t from the later visits (zeros at the first), carry' =
// d/d prev of <h_t, gh + carry>, dx the same for x (when xs is among
// `grads`), and acc' = acc + d/d e_j for each extra e_j among `grads` (acc
// starts at zeros). A scan_grad op's result is the gradient of operand
// `part`: of init, the last carry'; of xs, the dx of every visit stacked; of
// e_j, the last acc'. The ops of one loop, which differ only in `part`,
// compute their results in one run of it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>

namespace nabla::ir {

/// How many extra operands (e1..en) a scan or scan_grad op has.
size_t loopExtraCount(const Op &op);
/// The number of steps of a loop op: xs's size along its axis.
const Dim &loopLength(const Op &op);
/// xs's shape without `axis`: the shape of one step's slice.
Shape sliceShape(const Shape &xs, int64_t axis);
/// `state` with `length` inserted at `axis`: the shape of all states stacked.
Shape stackedShape(const Shape &state, int64_t axis, const Dim &length);

/// Where scan_grad's body keeps its arguments and results (see above).
struct ScanGradLayout {
  size_t extras = 0;        ///< n
  bool xs = false;          ///< dx is a result
  std::vector<size_t> accs; ///< the extras (0-based) whose gradient is accumulated
  size_t residuals = 0;     ///< k
  size_t gh() const { return 2 + extras; }
  size_t carry() const { return 3 + extras; }
  size_t accArg(size_t i) const { return 4 + extras + i; }
  size_t state() const { return 4 + extras + accs.size(); }
  size_t residualArg(size_t i) const { return state() + 1 + i; }
  size_t dxResult() const { return 1; }
  size_t accResult(size_t i) const { return (xs ? 2 : 1) + i; }
};
/// The layout of a scan_grad with `extras` extras computing the gradients
/// of the operands `grads` (sorted; 0 is init, 1 is xs, 2 + j extra j) and
/// reading `residuals` residuals.
ScanGradLayout scanGradLayout(size_t extras, const std::vector<int64_t> &grads, size_t residuals);
/// The layout of scan_grad `op`.
ScanGradLayout scanGradLayout(const Op &op);

/// Whether `a` and `b` are parts of one loop (they differ in part only).
bool partsOfOneLoop(const Op &a, const Op &b);

/// The result type of loop op `op` from its operands, attributes and body,
/// or "" and `problem` set when they do not fit together.
std::optional<TensorType> loopResultType(const Op &op, std::string &problem);

} // namespace nabla::ir
