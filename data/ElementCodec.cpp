#include "data/ElementCodec.h"

#include <fmt/format.h>

#include <cstring>

namespace nabla {

namespace {
template <typename T> T load(const char *p, bool bigEndian) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, p, sizeof(T));
  if (bigEndian)
    for (size_t i = 0; i < sizeof(T) / 2; ++i)
      std::swap(bytes[i], bytes[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, bytes, sizeof(T));
  return v;
}
} // namespace

std::optional<Tensor> decodeElements(std::string_view data, ElementFormat format,
                                     const std::vector<int64_t> &shape, std::string &error) {
  DType dtype = format.isFloat ? (format.size == 8 ? DType::F64 : DType::F32) : DType::I32;
  if (!checkAllocation(dtype, shape, error))
    return std::nullopt;
  uint64_t count = 1;
  for (int64_t d : shape)
    count *= uint64_t(d);
  uint64_t expected = count * format.size;
  if (data.size() != expected) {
    error =
        data.size() < expected
            ? fmt::format("truncated: the data should be {} bytes but {} are present", expected,
                          data.size())
            : fmt::format("{} bytes follow the {} bytes of data", data.size() - expected, expected);
    return std::nullopt;
  }
  Tensor t(dtype, shape);
  const char *p = data.data();
  bool big = format.bigEndian;
  if (format.isFloat && format.size == 4) {
    float *out = t.data<float>();
    for (uint64_t i = 0; i < count; ++i)
      out[i] = load<float>(p + 4 * i, big);
  } else if (format.isFloat) {
    double *out = t.data<double>();
    for (uint64_t i = 0; i < count; ++i)
      out[i] = load<double>(p + 8 * i, big);
  } else if (format.size == 4) {
    int32_t *out = t.data<int32_t>();
    for (uint64_t i = 0; i < count; ++i)
      out[i] = load<int32_t>(p + 4 * i, big);
  } else {
    int32_t *out = t.data<int32_t>();
    for (uint64_t i = 0; i < count; ++i) {
      int64_t v = load<int64_t>(p + 8 * i, big);
      if (v < INT32_MIN || v > INT32_MAX) {
        error = fmt::format("int64 value {} at element {} does not fit in i32", v, i);
        return std::nullopt;
      }
      out[i] = static_cast<int32_t>(v);
    }
  }
  return t;
}

std::string_view elementBytes(const Tensor &t) {
  return std::string_view(static_cast<const char *>(t.raw()), t.byteSize());
}

} // namespace nabla
