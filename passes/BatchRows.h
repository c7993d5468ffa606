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

} // namespace nabla::passes
