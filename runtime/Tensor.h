//===- Tensor.h - A dense tensor in host memory -----------------*- C++ -*-===//
//
// Row-major data of one dtype with a concrete shape, 64-byte aligned. Tensors
// move; copies are explicit (clone). Allocation is checked against a memory
// limit first, so that a forged file header or a huge symbolic size ends in
// an error message rather than an out-of-memory kill.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Types.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nabla {

class Tensor {
public:
  Tensor() = default;
  /// A zero-filled tensor. The size must have passed checkAllocation.
  Tensor(DType dtype, std::vector<int64_t> shape);
  Tensor(Tensor &&) = default;
  Tensor &operator=(Tensor &&) = default;

  Tensor clone() const;
  /// A tensor over `data`, which it does not own: the caller keeps the
  /// memory alive and 64-byte aligned (the kernels assume it) while the
  /// tensor lives. For NumPy arrays handed to compiled steps without a copy.
  static Tensor borrow(DType dtype, std::vector<int64_t> shape, void *data);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  unsigned rank() const { return static_cast<unsigned>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t byteSize() const { return static_cast<size_t>(numel_) * dtypeSize(dtype_); }
  bool empty() const { return !data_; }

  template <typename T> T *data() { return reinterpret_cast<T *>(data_.get()); }
  template <typename T> const T *data() const { return reinterpret_cast<const T *>(data_.get()); }
  void *raw() { return data_.get(); }
  const void *raw() const { return data_.get(); }

  /// Element `i` (row-major) as a double, whatever the dtype.
  double get(int64_t i) const;
  /// Stores `v` at element `i`, converted to the dtype.
  void set(int64_t i, double v);

  /// The same data in another dtype (a copy).
  Tensor convertedTo(DType dtype) const;
  /// "[2, 3]".
  std::string shapeStr() const;

private:
  struct Free {
    Free() : owned(true) {}
    explicit Free(bool owns) : owned(owns) {}
    bool owned; ///< false for borrowed memory
    void operator()(std::byte *p) const;
  };
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::unique_ptr<std::byte[], Free> data_;
};

/// The most bytes one tensor may hold: three quarters of physical memory.
/// "[2, 3]".
std::string sizesStr(const std::vector<int64_t> &shape);

uint64_t tensorMemoryLimit();

/// Checks that a tensor of `dtype` and `shape` can be allocated: every
/// dimension non-negative, no overflow, within tensorMemoryLimit(). On
/// failure sets `error` and returns false.
bool checkAllocation(DType dtype, const std::vector<int64_t> &shape, std::string &error);

} // namespace nabla
