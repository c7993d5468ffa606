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
  /// Can start a fusion group: the group's element-wise ops consume its
  /// result rows as they are made (ir/Groups.h says when).
  kAnchor = 1u << 4,
  /// Costs nothing to recompute: copied into every group that reads it
  /// instead of joining one, and may sit in any group.
  kCheapLeaf = 1u << 5,
};

/// What kind of computation an op is: its family decides its shape rule,
/// the kernel emitter and the interpreter routine that run it.
enum class OpFamily : uint8_t {
  Leaf,        ///< no operands: a splat
  Unary,       ///< element-wise, one operand
  Binary,      ///< element-wise, two floating-point operands of one type
  Comparison,  ///< element-wise, two operands of one type, a 0/1 mask
  Select,      ///< element-wise select(mask, a, b)
  Layout,      ///< data movement: broadcast, reshape, transpose, concat, slice
  Reduction,   ///< over a set of axes
  MatMul,      ///< [..., M, K] x [..., K, N]
  Neural,      ///< softmax, losses, one_hot, argmax: their own kernels
  Convolution, ///< conv2d and its two derivatives
  Pooling,     ///< max and average pooling and their derivatives
  Loop,        ///< scan and its gradient: a body function run once per step
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
  kAttrReverse = 1u << 13,  ///< reverse: a loop visits the last step first
  kAttrBody = 1u << 14,     ///< body: the function a loop runs at each step
  kAttrPart = 1u << 15,     ///< part: which result of a loop the op is
  kAttrGrads = 1u << 16,    ///< grads, residuals: what a scan_grad's loop computes and reads
  kAttrFromEnd = 1u << 17,  ///< from_end: a slice's or pad's start counts from the axis's end
};

enum class OpKind : uint8_t {
#define NABLA_OP(Id, Name, Arity, Family, Traits, Attrs) Id,
#include "ir/Ops.def"
};

// The ops of one family, as an enum of their own (the same names as in
// OpKind). A switch over one lists exactly that family's ops, so when the
// family gains an op, -Wswitch names every switch that must learn it and no
// other. Leaf, Select and MatMul ops are few enough to test by kind.
enum class UnaryOp : uint8_t {
#define NABLA_UNARY_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class BinaryOp : uint8_t {
#define NABLA_BINARY_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class ComparisonOp : uint8_t {
#define NABLA_COMPARISON_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class LayoutOp : uint8_t {
#define NABLA_LAYOUT_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class ReductionOp : uint8_t {
#define NABLA_REDUCTION_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class NeuralOp : uint8_t {
#define NABLA_NEURAL_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class ConvolutionOp : uint8_t {
#define NABLA_CONVOLUTION_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class PoolingOp : uint8_t {
#define NABLA_POOLING_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};
enum class LoopOp : uint8_t {
#define NABLA_LOOP_OP(Id, Name, Arity, Traits, Attrs) Id,
#include "ir/Ops.def"
};

struct OpInfo {
  OpKind kind;
  std::string_view name;
  int arity; ///< -1: one or more
  OpFamily family;
  unsigned traits;
  unsigned attrs;
  uint8_t member; ///< the op's position in its family's enum
};

const OpInfo &opInfo(OpKind kind);
std::optional<OpKind> lookupOp(std::string_view name);
/// The number of op kinds (for tests that enumerate the table).
unsigned opCount();

inline bool hasTrait(OpKind kind, OpTrait trait) { return (opInfo(kind).traits & trait) != 0; }
inline OpFamily familyOf(OpKind kind) { return opInfo(kind).family; }

/// The position of `kind` in the enum of `family`, which must be its own.
uint8_t memberIn(OpKind kind, OpFamily family);

// `kind` as a member of its family's enum; asserts that it is one.
inline UnaryOp asUnary(OpKind kind) { return UnaryOp(memberIn(kind, OpFamily::Unary)); }
inline BinaryOp asBinary(OpKind kind) { return BinaryOp(memberIn(kind, OpFamily::Binary)); }
inline ComparisonOp asComparison(OpKind kind) {
  return ComparisonOp(memberIn(kind, OpFamily::Comparison));
}
inline LayoutOp asLayout(OpKind kind) { return LayoutOp(memberIn(kind, OpFamily::Layout)); }
inline ReductionOp asReduction(OpKind kind) {
  return ReductionOp(memberIn(kind, OpFamily::Reduction));
}
inline NeuralOp asNeural(OpKind kind) { return NeuralOp(memberIn(kind, OpFamily::Neural)); }
inline ConvolutionOp asConvolution(OpKind kind) {
  return ConvolutionOp(memberIn(kind, OpFamily::Convolution));
}
inline PoolingOp asPooling(OpKind kind) { return PoolingOp(memberIn(kind, OpFamily::Pooling)); }
inline LoopOp asLoop(OpKind kind) { return LoopOp(memberIn(kind, OpFamily::Loop)); }

} // namespace nabla::ir
