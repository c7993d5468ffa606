//===- Ops.h - The op table: kinds, traits, attributes ----------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nabla::ir {

/// Properties of an op, used by the verifier and by passes.
enum OpTrait : unsigned {
  /// Operands and result share one shape; element i of the result depends on
  /// element i of each operand only.
  kElementwise = 1u << 0,
  /// Floating-point operands only.
  kFloat = 1u << 1,
  /// Compares operands of one dtype and gives a float 0/1 mask.
  kComparison = 1u << 2,
  /// No gradient flows through the op.
  kNoGrad = 1u << 3,
};

/// The attributes an op carries (a mask; each op lists its own in Ops.def).
enum AttrKind : unsigned {
  kAttrValue = 1u << 0,     ///< value: a number (constant)
  kAttrDim = 1u << 1,       ///< dim: a size, possibly symbolic (dim_size)
  kAttrAxes = 1u << 2,      ///< axes: sorted distinct axes (reductions)
  kAttrKeepdims = 1u << 3,  ///< keepdims: reduced axes stay as 1
  kAttrAxis = 1u << 4,      ///< axis: one axis
  kAttrAlpha = 1u << 5,     ///< alpha: leaky_relu's slope, elu's alpha
  kAttrClasses = 1u << 6,   ///< classes: one_hot's width
  kAttrPerm = 1u << 7,      ///< perm: result axis i is operand axis perm[i]
  kAttrTranspose = 1u << 8, ///< transpose_a, transpose_b (matmul)
  kAttrStride = 1u << 9,    ///< stride: [h, w]
  kAttrPadding = 1u << 10,  ///< padding: [h, w]
  kAttrWindow = 1u << 11,   ///< window: [h, w]
  kAttrStart = 1u << 12,    ///< start: the first index along axis (slice)
};

enum class OpKind : uint8_t {
#define NABLA_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};

struct OpInfo {
  OpKind kind;
  std::string_view name;
  int arity; ///< -1: one or more
  unsigned traits;
  unsigned attrs;
};

const OpInfo &opInfo(OpKind kind);
std::optional<OpKind> lookupOp(std::string_view name);
/// The number of op kinds (for tests that enumerate the table).
unsigned opCount();

inline bool hasTrait(OpKind kind, OpTrait trait) { return (opInfo(kind).traits & trait) != 0; }

} // namespace nabla::ir
