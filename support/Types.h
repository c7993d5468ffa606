//===- Types.h - Element types, dimensions, tensor types --------*- C++ -*-===//
//
// A dimension is a monomial: an integer coefficient times a product of
// symbolic sizes (`784`, `B`, `784*B`, `B*T`). Monomials are closed under the
// products that flatten and reshape need and compare structurally, so shape
// rules work the same whether sizes are known or bound at run time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nabla {

enum class DType : uint8_t { F32, F64, I32 };

/// "f32", "f64", "i32".
const char *dtypeName(DType dtype);
std::optional<DType> parseDType(std::string_view name);
inline bool isFloat(DType d) { return d != DType::I32; }
/// Bytes per element.
inline unsigned dtypeSize(DType d) { return d == DType::F64 ? 8 : 4; }

/// The most axes a tensor may have.
constexpr unsigned kMaxRank = 8;
/// The largest single dimension (keeps index arithmetic in 64 bits).
constexpr int64_t kMaxDimSize = int64_t(1) << 40;

class Dim {
public:
  /// The dimension 1.
  Dim() = default;
  explicit Dim(int64_t value) : coefficient_(value) {}
  /// A symbolic size.
  static Dim symbol(std::string name);

  bool isConcrete() const { return symbols_.empty(); }
  bool isOne() const { return isConcrete() && coefficient_ == 1; }
  /// The integer factor (the whole value when concrete).
  int64_t coefficient() const { return coefficient_; }
  /// The symbolic factors, sorted, repeated for powers.
  const std::vector<std::string> &symbols() const { return symbols_; }

  /// a * b, or nothing if the coefficient overflows kMaxDimSize squared.
  static std::optional<Dim> product(const Dim &a, const Dim &b);
  /// a + b when the sum is one monomial (3 + 4, B + 2*B), else nothing.
  static std::optional<Dim> sum(const Dim &a, const Dim &b);
  /// this / d when it divides exactly, else nothing.
  std::optional<Dim> dividedBy(const Dim &d) const;
  /// The value with every symbol bound by `lookup`; nothing if one is unbound.
  std::optional<int64_t>
  evaluate(const std::function<std::optional<int64_t>(const std::string &)> &lookup) const;

  /// "784", "B", "784*B", "B*T".
  std::string str() const;

  friend bool operator==(const Dim &a, const Dim &b) {
    return a.coefficient_ == b.coefficient_ && a.symbols_ == b.symbols_;
  }

private:
  int64_t coefficient_ = 1;
  std::vector<std::string> symbols_;
};

using Shape = std::vector<Dim>;

/// "[B, 784]"; "[]" for a scalar.
std::string shapeStr(const Shape &shape);
/// The element count, or nothing on overflow.
std::optional<Dim> numElements(const Shape &shape);
/// NumPy broadcasting: aligns trailing axes; a 1 stretches. A symbolic size
/// matches only itself or 1. Nothing when the shapes are incompatible.
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b);

/// PyTorch's output size of a convolution or pooling window along one axis:
/// floor((in + 2*padding - window) / stride) + 1, or 0 if the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t window, int64_t stride, int64_t padding);

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  unsigned rank() const { return static_cast<unsigned>(shape.size()); }
  bool isScalar() const { return shape.empty(); }
  /// "f32[B, 784]"; "f32[]" for a scalar.
  std::string str() const;
  friend bool operator==(const TensorType &a, const TensorType &b) {
    return a.dtype == b.dtype && a.shape == b.shape;
  }
};

} // namespace nabla
