#include "ir/Ops.h"

#include <array>
#include <cassert>

namespace nabla::ir {

namespace {

/// The table, each op numbered within its family in Ops.def's order (the
/// order of its family's enum).
constexpr auto kOps = [] {
  std::array ops = {
#define NABLA_OP(Id, Name, Arity, Family, Traits, Attrs)                                         \
  OpInfo{OpKind::Id, Name, Arity, OpFamily::Family, Traits, Attrs, 0},
#include "ir/Ops.def"
  };
  for (size_t i = 0; i < ops.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (ops[j].family == ops[i].family)
        ++ops[i].member;
  return ops;
}();

// The family enums and the table agree (spot checks; IRTest checks all).
static_assert(kOps[size_t(OpKind::Exp)].member == uint8_t(UnaryOp::Exp));
static_assert(kOps[size_t(OpKind::StopGradient)].member == uint8_t(UnaryOp::StopGradient));
static_assert(kOps[size_t(OpKind::AvgPool2dBackward)].member ==
              uint8_t(PoolingOp::AvgPool2dBackward));

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

uint8_t memberIn(OpKind kind, OpFamily family) {
  const OpInfo &info = opInfo(kind);
  assert(info.family == family && "the op is not of this family");
  (void)family;
  return info.member;
}

} // namespace nabla::ir
