//===- Gzip.h - Decompressing gzip data in memory ---------------*- C++ -*-===//
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nabla {

/// Whether `bytes` start with the gzip magic number (1f 8b).
bool isGzip(std::string_view bytes);

/// Inflates gzip data (one or more members). The output grows with the data
/// actually decompressed, up to `limit` bytes; beyond that, or on corrupt or
/// truncated input, returns nothing and sets `error`.
std::optional<std::string> gunzip(std::string_view bytes, uint64_t limit, std::string &error);

} // namespace nabla
