//===- KernelBuilder.h - Emitting one op's kernel ---------------*- C++ -*-===//
//
// Every IR op becomes one LLVM function (a kernel) with shapes fixed to the
// sizes of the run: void k(ptr out, ptr in0, ..., ptr scratch, ptr status).
// The per-op emitters (codegen/*Kernels.cpp) write its body through this
// builder: typed loads and stores, counted loops, the scalar math of each
// element-wise op. Floating-point operations may be reassociated and
// contracted (so loops vectorize and multiply-adds fuse) but never assume
// that values are finite.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Target.h"
#include "ir/IR.h"
#include "ir/Shapes.h"
#include "support/Types.h"

#include <llvm/IR/IRBuilder.h>

#include <functional>
#include <vector>

namespace nabla::codegen {

using Sizes = std::vector<int64_t>;

class KernelBuilder {
public:
  KernelBuilder(llvm::Function *fn, const ir::Op &op, std::vector<Sizes> operandShapes,
                Sizes resultShape, int64_t opIndex, const ir::SymbolBindings &bindings,
                const Target &target);

  llvm::IRBuilder<> b;
  llvm::Function *fn;
  const ir::Op &op;
  std::vector<Sizes> inShapes;
  Sizes outShape;
  int64_t opIndex;
  const ir::SymbolBindings &bindings;
  /// The CPU the kernel is for: its vector width, registers and caches.
  const Target &target;

  /// The value of a size under the run's bindings.
  int64_t sizeOf(const Dim &d) const;
  /// A variable in the kernel's entry block (promoted to a register by LLVM).
  llvm::AllocaInst *local(llvm::Type *type, llvm::Value *initial);

  /// The buffers of the op: by default the kernel's parameters in order
  /// (out, operands..., scratch, status); a fused kernel points them elsewhere.
  llvm::Value *out() const { return out_; }
  llvm::Value *in(size_t i) const { return ins_[i]; }
  llvm::Value *scratch() const { return scratch_; }
  llvm::Value *status() const { return status_; }
  void setPointers(llvm::Value *out, std::vector<llvm::Value *> ins, llvm::Value *scratch,
                   llvm::Value *status);

  DType outType() const { return op.result.type.dtype; }
  DType inType(size_t i) const { return op.operands[i]->type.dtype; }

  llvm::Type *typeOf(DType d);
  llvm::Value *i64(int64_t v) { return b.getInt64(uint64_t(v)); }
  llvm::Value *constant(DType d, double v);

  /// Element `index` of the buffer at `base`.
  llvm::Value *load(DType d, llvm::Value *base, llvm::Value *index);
  void store(DType d, llvm::Value *value, llvm::Value *base, llvm::Value *index);
  llvm::Value *loadIn(size_t i, llvm::Value *index) { return load(inType(i), in(i), index); }
  void storeOut(llvm::Value *value, llvm::Value *index) { store(outType(), value, out(), index); }
  /// Fills `count` elements of the result with `value`.
  void fill(double value, int64_t count);

  /// for (i = begin; i < end; ++i) body(i). A `rolled` loop is never
  /// unrolled by LLVM: for loops around large bodies (a copy would only
  /// cost compile time).
  void loop(int64_t begin, int64_t end, const std::function<void(llvm::Value *)> &body,
            bool rolled = false);
  /// The same with bounds known only at run time.
  void loopBetween(llvm::Value *begin, llvm::Value *end,
                   const std::function<void(llvm::Value *)> &body, bool rolled = false);
  /// Marks the loop whose back edge is `latch` as one LLVM must not unroll.
  void keepRolled(llvm::Instruction *latch);
  /// acc = init; for (i ...) acc = body(i, acc); returns acc.
  llvm::Value *reduce(int64_t begin, int64_t end, llvm::Value *init,
                      const std::function<llvm::Value *(llvm::Value *, llvm::Value *)> &body,
                      bool rolled = false);
  /// The same with bounds known only at run time.
  llvm::Value *reduceBetween(llvm::Value *begin, llvm::Value *end, llvm::Value *init,
                             const std::function<llvm::Value *(llvm::Value *, llvm::Value *)> &body,
                             bool rolled = false);
  /// Nested loops over `shape` in row-major order: body(indices).
  void forEachIndex(const Sizes &shape,
                    const std::function<void(const std::vector<llvm::Value *> &)> &body);
  /// Σ indices[d] * strides[d] (+ offset).
  llvm::Value *linear(const std::vector<llvm::Value *> &indices, const Sizes &strides,
                      int64_t offset = 0);
  /// if (cond) then()
  void ifThen(llvm::Value *cond, const std::function<void()> &then);

  // Scalar math on values of one floating type.
  llvm::Value *add(llvm::Value *a, llvm::Value *c) { return b.CreateFAdd(a, c); }
  llvm::Value *sub(llvm::Value *a, llvm::Value *c) { return b.CreateFSub(a, c); }
  llvm::Value *mul(llvm::Value *a, llvm::Value *c) { return b.CreateFMul(a, c); }
  llvm::Value *div(llvm::Value *a, llvm::Value *c) { return b.CreateFDiv(a, c); }
  llvm::Value *intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Value *> args);
  /// A call to the C library's `name` (for double; `name`f for float).
  llvm::Value *libm(const char *name, llvm::Value *x);
  llvm::Value *exp(llvm::Value *x) { return intrinsic(llvm::Intrinsic::exp, {x}); }
  llvm::Value *log(llvm::Value *x) { return intrinsic(llvm::Intrinsic::log, {x}); }
  /// max and min that propagate NaN.
  llvm::Value *maximum(llvm::Value *a, llvm::Value *c) {
    return intrinsic(llvm::Intrinsic::maximum, {a, c});
  }
  llvm::Value *minimum(llvm::Value *a, llvm::Value *c) {
    return intrinsic(llvm::Intrinsic::minimum, {a, c});
  }
  /// A float 0/1 of `cond` in `d`.
  llvm::Value *toMask(llvm::Value *cond, DType d) { return b.CreateUIToFP(cond, typeOf(d)); }

  // Whole vectors of the target's widest width, for kernels that move
  // data with masked vector loads and stores.
  /// Elements of `d` per vector, and that vector type.
  unsigned lanesOf(DType d) const { return target.lanes(d); }
  llvm::FixedVectorType *vectorOf(DType d);
  /// The i64 vector first, first + 1, ..., first + lanes - 1.
  llvm::Value *laneIndices(unsigned lanes, llvm::Value *first);
  /// The mask of the lanes l (of `lanes`) with first + l < end.
  llvm::Value *lanesBelow(unsigned lanes, llvm::Value *first, llvm::Value *end);
  /// The address of element `index` of `base`, which may lie outside the
  /// buffer: only masked loads and stores may use it.
  llvm::Value *maskedAddress(DType d, llvm::Value *base, llvm::Value *index) {
    return b.CreateGEP(typeOf(d), base, index);
  }

private:
  llvm::Value *out_ = nullptr, *scratch_ = nullptr, *status_ = nullptr;
  std::vector<llvm::Value *> ins_;

public:
  /// Records in the status word that element `position` held `value`.
  void fail(llvm::Value *position, llvm::Value *value) { failAt(opIndex, position, value); }
  /// The same for op `index` of the function.
  void failAt(int64_t index, llvm::Value *position, llvm::Value *value);
};

/// Row-major strides of `shape`.
Sizes stridesOf(const Sizes &shape);
int64_t product(const Sizes &shape);

} // namespace nabla::codegen
