//===- BatchRows.h - Whether a function treats examples apart ---*- C++ -*-===//
//
// A function is row-wise in a size B when every example of a batch (a row
// along B) has outputs that depend on that example alone: then running the
// function on a batch tile by tile, the last tile padded, gives the same
// outputs as running it on the whole batch. `nabla compile` relies on it to
// serve any batch with code compiled for one tile size.
//
// The check is by shapes and is conservative: every value that has B has it
// as its first axis and nowhere else; no op turns a value with B into one
// without it (a reduction over the examples, a matmul contracting them); no
// op works along axis 0 of a value with B (softmax over the examples); no
// op reads the size B itself (dim_size, as a mean over the batch does); and
// every result has B first.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <optional>
#include <string>

namespace nabla::passes {

/// Why `fn` is not row-wise in `batch`: the place and a sentence.
struct MixedRows {
  SourceLoc loc; ///< the op or argument (no position for a result)
  std::string reason;
};

/// Nothing when `fn` is row-wise in the symbolic size `batch`.
std::optional<MixedRows> findMixedRows(const ir::Function &fn, const std::string &batch);

/// The size whose rows loop op `loop` (a scan, or the scan_grad parts of one
/// loop; ir/Loops.h) keeps apart, when it does: the symbolic first axis of
/// its state, of xs (along an axis after it) and of every per-step value of
/// its body, which the body keeps row-wise; no extra has that axis (every
/// share reads the extras whole).
/// A scan_grad's accumulated gradients may sum over the rows (a weight's
/// gradient, rowᵀ G, a bias's, a sum over axis 0) into nothing but their
/// accumulator. Then each share of the rows can run the whole loop on its
/// own, the shares' sums added at the end (codegen/LoopKernels.h).
std::optional<std::string> loopRows(const ir::Op &loop);

} // namespace nabla::passes
