//===- Hash.h - A stable hash of bytes --------------------------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <string_view>

namespace nabla {

/// FNV-1a, 64 bits: the same on every run and machine (names of random
/// streams, keys of cached kernels).
inline uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

} // namespace nabla
