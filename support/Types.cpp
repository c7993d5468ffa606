#include "support/Types.h"

#include <algorithm>

namespace nabla {

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view name) {
  if (name == "f32")
    return DType::F32;
  if (name == "f64")
    return DType::F64;
  if (name == "i32")
    return DType::I32;
  return std::nullopt;
}

Dim Dim::symbol(std::string name) {
  Dim d;
  d.symbols_.push_back(std::move(name));
  return d;
}

std::optional<Dim> Dim::product(const Dim &a, const Dim &b) {
  Dim r;
  if (__builtin_mul_overflow(a.coefficient_, b.coefficient_, &r.coefficient_))
    return std::nullopt;
  r.symbols_.reserve(a.symbols_.size() + b.symbols_.size());
  std::merge(a.symbols_.begin(), a.symbols_.end(), b.symbols_.begin(), b.symbols_.end(),
             std::back_inserter(r.symbols_));
  return r;
}

std::optional<Dim> Dim::sum(const Dim &a, const Dim &b) {
  if (a.symbols_ != b.symbols_)
    return std::nullopt;
  Dim r = a;
  if (__builtin_add_overflow(a.coefficient_, b.coefficient_, &r.coefficient_))
    return std::nullopt;
  return r;
}

std::optional<Dim> Dim::dividedBy(const Dim &d) const {
  if (d.coefficient_ == 0 || coefficient_ % d.coefficient_ != 0)
    return std::nullopt;
  Dim r;
  r.coefficient_ = coefficient_ / d.coefficient_;
  // Multiset difference: every symbol of d must appear in this.
  size_t j = 0;
  for (const std::string &s : symbols_) {
    if (j < d.symbols_.size() && d.symbols_[j] == s)
      ++j;
    else
      r.symbols_.push_back(s);
  }
  if (j != d.symbols_.size())
    return std::nullopt;
  return r;
}

std::optional<int64_t>
Dim::evaluate(const std::function<std::optional<int64_t>(const std::string &)> &lookup) const {
  int64_t value = coefficient_;
  for (const std::string &s : symbols_) {
    std::optional<int64_t> v = lookup(s);
    if (!v || __builtin_mul_overflow(value, *v, &value))
      return std::nullopt;
  }
  return value;
}

std::string Dim::str() const {
  std::string out;
  if (coefficient_ != 1 || symbols_.empty())
    out = std::to_string(coefficient_);
  for (const std::string &s : symbols_) {
    if (!out.empty())
      out += '*';
    out += s;
  }
  return out;
}

std::string shapeStr(const Shape &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      out += ", ";
    out += shape[i].str();
  }
  return out + "]";
}

std::optional<Dim> numElements(const Shape &shape) {
  Dim n;
  for (const Dim &d : shape) {
    std::optional<Dim> p = Dim::product(n, d);
    if (!p)
      return std::nullopt;
    n = std::move(*p);
  }
  return n;
}

std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const Dim *da = i < rank - a.size() ? nullptr : &a[i - (rank - a.size())];
    const Dim *db = i < rank - b.size() ? nullptr : &b[i - (rank - b.size())];
    if (!da || da->isOne())
      out[i] = db ? *db : Dim();
    else if (!db || db->isOne() || *da == *db)
      out[i] = *da;
    else
      return std::nullopt;
  }
  return out;
}

int64_t windowOutputSize(int64_t in, int64_t window, int64_t stride, int64_t padding) {
  int64_t span = in + 2 * padding - window;
  if (span < 0 || stride < 1)
    return 0;
  return span / stride + 1;
}

std::string TensorType::str() const { return std::string(dtypeName(dtype)) + shapeStr(shape); }

} // namespace nabla
