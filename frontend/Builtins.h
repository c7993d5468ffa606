//===- Builtins.h - Builtin operations and their signatures -----*- C++ -*-===//
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nabla {

enum class Builtin : uint8_t {
#define NABLA_BUILTIN(Id, Name, Callable) Id,
#include "frontend/Builtins.def"
};

/// What an argument must be. Everything but tensors is known at compile time.
enum class ArgKind : uint8_t {
  Tensor,     ///< a tensor; a number becomes a constant of the surrounding type
  TensorList, ///< a list of tensors
  Float,      ///< a number
  Int,        ///< an integer
  Bool,       ///< true or false
  Axis,       ///< an integer axis, negative counting from the end
  Axes,       ///< an axis or a list of axes
  Dims,       ///< a list of sizes: integers, consts, symbolic sizes, one -1
  Perm,       ///< a list of axes, a permutation
  Window,     ///< an integer or [height, width]
  String,     ///< a string (data-source paths)
  List,       ///< any list (csv columns)
};

/// One parameter of a signature.
struct ParamSpec {
  const char *name;
  ArgKind kind;
  /// The default as written in the signature; null when the argument is required.
  const char *defaultText = nullptr;
  /// The default's value for Float/Int/Bool/Axis parameters.
  double defaultValue = 0;
};

/// A callable's name and parameters, used to bind call arguments.
struct Signature {
  std::string_view name;
  std::vector<ParamSpec> params;

  /// "softmax(x, axis=-1)".
  std::string str() const;
  /// Index of the parameter named `name`, or -1.
  int find(std::string_view name) const;
};

struct BuiltinInfo {
  Builtin id;
  std::string_view name; ///< as printed; for callables also the name scripts use
  bool callable;
  std::string_view spelling; ///< operators: how messages show them ("'+'"); else ""

  Signature signature;
};

const BuiltinInfo &builtinInfo(Builtin id);
/// The callable builtin called `name` (aliases included), or null.
const BuiltinInfo *lookupBuiltin(std::string_view name);
/// Every callable name, aliases included (for suggestions).
std::vector<std::string_view> builtinNames();

/// Closest candidate to `name` within a small edit distance, or "".
std::string closestName(std::string_view name, const std::vector<std::string_view> &candidates);

} // namespace nabla
