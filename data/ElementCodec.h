//===- ElementCodec.h - Raw element bytes to and from tensors ---*- C++ -*-===//
#pragma once

#include "runtime/Tensor.h"

#include <optional>
#include <string>
#include <string_view>

namespace nabla {

/// How elements are stored in a file.
struct ElementFormat {
  bool isFloat = true;
  unsigned size = 4; ///< bytes: 4 or 8
  bool bigEndian = false;
};

/// Decodes `data` (exactly the elements of `shape`) into a tensor: f4 -> F32,
/// f8 -> F64, i4 -> I32, i8 -> I32 with a range check.
std::optional<Tensor> decodeElements(std::string_view data, ElementFormat format,
                                     const std::vector<int64_t> &shape, std::string &error);

/// The little-endian bytes of `t`'s elements (hosts are little-endian).
std::string_view elementBytes(const Tensor &t);

} // namespace nabla
