#include "runtime/Tensor.h"

#include <fmt/format.h>

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace nabla {

void Tensor::Free::operator()(std::byte *p) const {
  if (owned)
    std::free(p);
}

uint64_t tensorMemoryLimit() {
  static const uint64_t limit = [] {
    long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || pageSize <= 0)
      return uint64_t(8) << 30;
    return uint64_t(pages) * uint64_t(pageSize) / 4 * 3;
  }();
  return limit;
}

bool checkAllocation(DType dtype, const std::vector<int64_t> &shape, std::string &error) {
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      error = fmt::format("negative dimension {}", d);
      return false;
    }
    if (__builtin_mul_overflow(count, uint64_t(d), &count)) {
      error = "the number of elements overflows";
      return false;
    }
  }
  uint64_t bytes;
  if (__builtin_mul_overflow(count, uint64_t(dtypeSize(dtype)), &bytes) ||
      bytes > tensorMemoryLimit()) {
    error = fmt::format("a tensor of {} elements needs more memory than the {} MiB allowed", count,
                        tensorMemoryLimit() >> 20);
    return false;
  }
  return true;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = 1;
  for (int64_t d : shape_)
    numel_ *= d;
  size_t bytes = byteSize();
  size_t rounded = (bytes + 63) / 64 * 64;
  data_.reset(static_cast<std::byte *>(std::aligned_alloc(64, rounded ? rounded : 64)));
  assert(data_ && "allocation failed after checkAllocation");
  std::memset(data_.get(), 0, rounded ? rounded : 64);
}

Tensor Tensor::borrow(DType dtype, std::vector<int64_t> shape, void *data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = 1;
  for (int64_t d : t.shape_)
    t.numel_ *= d;
  t.data_ = std::unique_ptr<std::byte[], Free>(static_cast<std::byte *>(data), Free{false});
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (byteSize())
    std::memcpy(t.raw(), raw(), byteSize());
  return t;
}

double Tensor::get(int64_t i) const {
  switch (dtype_) {
  case DType::F32: return data<float>()[i];
  case DType::F64: return data<double>()[i];
  case DType::I32: return data<int32_t>()[i];
  }
  return 0;
}

void Tensor::set(int64_t i, double v) {
  switch (dtype_) {
  case DType::F32: data<float>()[i] = static_cast<float>(v); return;
  case DType::F64: data<double>()[i] = v; return;
  case DType::I32: data<int32_t>()[i] = static_cast<int32_t>(v); return;
  }
}

Tensor Tensor::convertedTo(DType dtype) const {
  Tensor t(dtype, shape_);
  for (int64_t i = 0; i < numel_; ++i)
    t.set(i, get(i));
  return t;
}

std::string Tensor::shapeStr() const { return sizesStr(shape_); }

std::string sizesStr(const std::vector<int64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

} // namespace nabla
