//===- ConstantFold.h - Computing constant values at compile time -*- C++ -*-===//
//
// An op whose operands are all splat constants is replaced by the splat
// constant it computes: element-wise ops (by the interpreter's formula,
// rounded to the op's dtype), and reshape, transpose, broadcast, and max/min
// reductions of a constant. dim_size of a concrete size becomes a constant,
// and so does a sum of a constant over a concrete number of elements.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace nabla::passes {

bool foldConstants(ir::Function &fn);

} // namespace nabla::passes
