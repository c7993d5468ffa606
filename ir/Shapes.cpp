#include "ir/Shapes.h"

namespace nabla::ir {

std::optional<std::vector<int64_t>> concreteShape(const Shape &shape,
                                                  const SymbolBindings &bindings) {
  auto lookup = [&](const std::string &s) -> std::optional<int64_t> {
    auto it = bindings.find(s);
    if (it == bindings.end())
      return std::nullopt;
    return it->second;
  };
  std::vector<int64_t> out;
  for (const Dim &d : shape) {
    std::optional<int64_t> v = d.evaluate(lookup);
    if (!v || *v > kMaxDimSize)
      return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

} // namespace nabla::ir
