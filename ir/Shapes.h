//===- Shapes.h - Symbolic shapes made concrete -----------------*- C++ -*-===//
//
// A function's shapes name symbolic sizes (`B`); a run binds each to a
// number. The interpreter, the memory plan and the kernels all make shapes
// concrete the same way.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Types.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nabla::ir {

/// Concrete values of a function's symbolic sizes.
using SymbolBindings = std::map<std::string, int64_t>;

/// `shape` with every symbol bound; nothing if one is unbound or a size overflows.
std::optional<std::vector<int64_t>> concreteShape(const Shape &shape,
                                                  const SymbolBindings &bindings);

} // namespace nabla::ir
