#include "passes/CSE.h"
#include "passes/Rewriter.h"

#include <cstring>
#include <unordered_map>

namespace nabla::passes {

using namespace ir;

namespace {

/// A hash of what makes two ops equal, collisions resolved by sameOp.
size_t hashOp(const Op &op) {
  size_t h = std::hash<int>()(int(op.kind));
  auto mix = [&](size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  for (const Value *v : op.operands)
    mix(std::hash<const Value *>()(v));
  uint64_t bits;
  std::memcpy(&bits, &op.attrs.value, sizeof bits);
  mix(std::hash<uint64_t>()(bits));
  mix(std::hash<std::string>()(op.result.type.str()));
  return h;
}

bool sameOp(const Op &a, const Op &b) {
  if (a.kind != b.kind || a.operands != b.operands || !(a.result.type == b.result.type) ||
      a.group != b.group)
    return false;
  // Constants compare by bits: 0 and -0 differ, and NaN equals itself.
  if (a.kind == OpKind::Constant)
    return std::memcmp(&a.attrs.value, &b.attrs.value, sizeof(double)) == 0;
  return a.attrs.equals(b.attrs, a.info().attrs);
}

} // namespace

bool eliminateCommonSubexpressions(Function &fn) {
  std::unordered_multimap<size_t, const Op *> seen;
  Rewriter rewriter(fn);
  return rewriter.run([&](Op &op) -> Value * {
    size_t h = hashOp(op);
    auto [begin, end] = seen.equal_range(h);
    for (auto it = begin; it != end; ++it)
      if (sameOp(*it->second, op))
        return const_cast<Value *>(&it->second->result);
    seen.emplace(h, &op);
    return nullptr;
  });
}

} // namespace nabla::passes
