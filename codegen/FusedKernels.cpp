//===- FusedKernels.cpp - One kernel for a fusion group --------------------===//
//
// A group (ir/Groups.h) computes its shape row by row (a row is a run of the
// last axis). With an anchor, the anchor's own kernel computes the rows and
// calls the epilogue on each finished row; without one, a loop over the rows
// does. The epilogue computes every other op of the group for each element
// of the row, keeping values in registers, and stores the values the plan
// says leave the group. Stores come after every load of an element, so a
// value may overwrite an input it was computed from (in place).
//
//===----------------------------------------------------------------------===//
#include "codegen/FusedKernels.h"
#include "codegen/Kernels.h"

#include "ir/Groups.h"

namespace nabla::codegen {

using ir::OpKind;

namespace {

/// Per-row state of an op that reads outside the element it computes.
struct RowState {
  llvm::Value *base = nullptr;  ///< broadcast: the operand index of the row's first element
  int64_t lastStride = 0;       ///< broadcast: the operand stride along the last axis
  llvm::Value *label = nullptr; ///< one_hot: the row's label
};

} // namespace

void emitGroup(llvm::Function *fn, const GroupKernel &g, const MemoryPlan &plan,
               const ir::SymbolBindings &bindings) {
  const ir::Op &first = *g.ops.front();
  bool anchored = ir::canAnchorGroup(first);
  std::vector<Sizes> anchorShapes;
  for (const ir::Value *v : first.operands)
    anchorShapes.push_back(plan.of(v).shape);
  KernelBuilder k(fn, first, anchorShapes, plan.of(&first.result).shape, g.opIndices.front(),
                  bindings);
  auto &b = k.b;
  Sizes shape = plan.of(&g.ops.back()->result).shape;
  int64_t n = shape.empty() ? 1 : shape.back();
  int64_t total = product(shape);
  int64_t rows = n ? total / n : 0;
  Sizes outer(shape.begin(), shape.empty() ? shape.end() : shape.end() - 1);
  auto buffer = [&](const ir::Value *v) { return g.buffers.at(v); };
  llvm::Value *anchorBuffer = !anchored                        ? nullptr
                              : g.buffers.count(&first.result) ? buffer(&first.result)
                                                               : g.anchorRows;

  auto epilogue = [&](llvm::Value *row) {
    // The row's indices along the outer axes.
    std::vector<llvm::Value *> index(outer.size());
    llvm::Value *rest = row;
    for (size_t d = outer.size(); d-- > 0;) {
      index[d] = b.CreateURem(rest, k.i64(outer[d]));
      rest = b.CreateUDiv(rest, k.i64(outer[d]));
    }
    std::unordered_map<const ir::Op *, RowState> state;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const ir::Op &op = *g.ops[i];
      if (op.kind == OpKind::Broadcast) {
        // Operand axes align at the end; a size-1 axis repeats (stride 0).
        const Sizes &in = plan.of(op.operands[0]).shape;
        Sizes inStrides = stridesOf(in), strides(shape.size(), 0);
        size_t lead = shape.size() - in.size();
        for (size_t d = 0; d < in.size(); ++d)
          strides[lead + d] = in[d] == 1 ? 0 : inStrides[d];
        RowState s;
        s.base = k.linear(index, strides);
        s.lastStride = strides.empty() ? 0 : strides.back();
        state[&op] = s;
      } else if (op.kind == OpKind::OneHot) {
        RowState s;
        s.label = k.load(DType::I32, buffer(op.operands[0]), row);
        llvm::Value *bad =
            b.CreateOr(b.CreateICmpSLT(s.label, b.getInt32(0)),
                       b.CreateICmpSGE(s.label, b.getInt32(int32_t(op.attrs.classes))));
        k.ifThen(bad, [&] { k.failAt(g.opIndices[i], row, s.label); });
        state[&op] = s;
      }
    }
    k.loop(0, n, [&](llvm::Value *j) {
      llvm::Value *flat = b.CreateNSWAdd(b.CreateNSWMul(row, k.i64(n)), j);
      std::unordered_map<const ir::Value *, llvm::Value *> value;
      auto operand = [&](const ir::Value *v) {
        auto it = value.find(v);
        return it != value.end() ? it->second : k.load(v->type.dtype, buffer(v), flat);
      };
      for (const ir::Op *op : g.ops) {
        DType dt = op->result.type.dtype;
        llvm::Value *x = nullptr;
        if (anchored && op == &first) {
          x = k.load(dt, anchorBuffer, flat);
        } else if (op->kind == OpKind::Constant) {
          x = k.constant(dt, op->attrs.value);
        } else if (op->kind == OpKind::DimSize) {
          x = k.constant(dt, double(k.sizeOf(op->attrs.dim)));
        } else if (op->kind == OpKind::Broadcast) {
          const RowState &s = state.at(op);
          llvm::Value *at = s.lastStride
                                ? b.CreateNSWAdd(s.base, b.CreateNSWMul(j, k.i64(s.lastStride)))
                                : s.base;
          x = k.load(dt, buffer(op->operands[0]), at);
        } else if (op->kind == OpKind::OneHot) {
          llvm::Value *hit = b.CreateICmpEQ(state.at(op).label, b.CreateTrunc(j, b.getInt32Ty()));
          x = k.toMask(hit, dt);
        } else {
          std::vector<llvm::Value *> xs;
          for (const ir::Value *v : op->operands)
            xs.push_back(operand(v));
          x = emitScalar(k, *op, xs);
        }
        value[&op->result] = x;
      }
      for (const ir::Value *v : g.stored)
        if (!(anchored && v == &first.result))
          k.store(v->type.dtype, value.at(v), buffer(v), flat);
    });
  };

  if (anchored) {
    std::vector<llvm::Value *> ins;
    for (const ir::Value *v : first.operands)
      ins.push_back(buffer(v));
    k.setPointers(anchorBuffer, ins, g.scratch, g.status);
    k.rowDone = epilogue;
    if (first.kind == OpKind::MatMul)
      emitMatMul(k);
    else
      emitNeural(k);
  } else {
    k.setPointers(nullptr, {}, g.scratch, g.status);
    k.loop(0, rows, epilogue);
  }
  b.CreateRetVoid();
}

} // namespace nabla::codegen
