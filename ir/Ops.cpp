#include "ir/Ops.h"

#include <array>
#include <cassert>

namespace nabla::ir {

namespace {
constexpr OpInfo kOps[] = {
#define NABLA_OP(Id, Name, Arity, Traits, Attrs) {OpKind::Id, Name, Arity, Traits, Attrs},
#include "ir/Ops.def"
};
} // namespace

const OpInfo &opInfo(OpKind kind) {
  const OpInfo &info = kOps[static_cast<size_t>(kind)];
  assert(info.kind == kind && "Ops.def order and table disagree");
  return info;
}

std::optional<OpKind> lookupOp(std::string_view name) {
  for (const OpInfo &info : kOps)
    if (info.name == name)
      return info.kind;
  return std::nullopt;
}

unsigned opCount() { return static_cast<unsigned>(std::size(kOps)); }

} // namespace nabla::ir
