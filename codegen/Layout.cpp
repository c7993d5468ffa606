#include "codegen/Layout.h"

#include "runtime/Tensor.h"

namespace nabla::codegen {

size_t scratchBytesFor(const ir::Op &op, const ValueLayout &result) {
  // logsumexp keeps the running sum of each group next to its maximum.
  if (op.kind == ir::OpKind::LogSumExp)
    return result.bytes;
  return 0;
}

std::optional<Layout> Layout::plan(const ir::Function &fn, const ir::SymbolBindings &bindings,
                                   std::string &error) {
  Layout layout;
  size_t offset = kStatusBytes;
  auto place = [&](const ir::Value *v, int argument) -> bool {
    std::optional<std::vector<int64_t>> shape = ir::concreteShape(v->type.shape, bindings);
    if (!shape) {
      error = "a size of " + v->type.str() + " is unbound or too large";
      return false;
    }
    if (!checkAllocation(v->type.dtype, *shape, error))
      return false;
    ValueLayout l;
    l.shape = *shape;
    l.numel = 1;
    for (int64_t d : l.shape)
      l.numel *= d;
    l.bytes = size_t(l.numel) * dtypeSize(v->type.dtype);
    l.argument = argument;
    if (argument < 0) {
      l.offset = offset;
      offset += (l.bytes + 63) / 64 * 64;
    }
    layout.index_[v] = layout.values_.size();
    layout.values_.push_back(std::move(l));
    return true;
  };
  for (size_t i = 0; i < fn.args.size(); ++i)
    if (!place(&fn.args[i]->value, int(i)))
      return std::nullopt;
  for (const auto &op : fn.ops) {
    if (!place(&op->result, -1))
      return std::nullopt;
    size_t bytes = scratchBytesFor(*op, layout.of(&op->result));
    layout.scratch_.emplace_back(offset, bytes);
    offset += (bytes + 63) / 64 * 64;
  }
  std::string limitError;
  if (!checkAllocation(DType::F32, {int64_t(offset / 4)}, limitError)) {
    error = "the step's working memory: " + limitError;
    return std::nullopt;
  }
  layout.arenaBytes_ = offset;
  return layout;
}

} // namespace nabla::codegen
