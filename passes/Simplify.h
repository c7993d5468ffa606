//===- Simplify.h - Algebraic simplification ---------------------*- C++ -*-===//
//
// Rewrites that make the graph smaller without changing its values:
//   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, safe_mul by 1   -> x
//   x - x                                                    -> 0
//   -(-x)                                                    -> x
//   select(m, x, x), select(constant m, x, y)                -> x (or y)
//   broadcast or reshape to the operand's own shape          -> the operand
//   broadcast(constant c)                                    -> constant c, wider
//   reshape(reshape(x))                                      -> reshape(x)
//   transpose(transpose(x))                                  -> one transpose, or x
//   matmul(transpose(a), b)                                  -> matmul(a, b) with transpose_a
//   sum/max/min over exactly the axes a broadcast stretched  -> the operand (× copies for sum)
//   slice of a whole axis, of a constant                     -> the operand, a constant
//   slice of a concat that falls in one of its operands      -> that operand (or a slice of it)
// Replaced ops are left for DCE. (x - x -> 0 and x + 0 -> x differ from IEEE
// arithmetic only for infinite x and for x = -0.)
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace nabla::passes {

bool simplify(ir::Function &fn);

} // namespace nabla::passes
