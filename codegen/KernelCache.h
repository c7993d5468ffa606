//===- KernelCache.h - Compiled steps on disk -------------------*- C++ -*-===//
//
// A compiled step is a few object files. The cache keeps them in one file
// per key, under $NABLA_CACHE_DIR (default $XDG_CACHE_HOME/nabla/kernels,
// or ~/.cache/nabla/kernels; "off" disables it). The key is the step's IR
// text, its sizes, the optimization level, the target CPU (its features and cache sizes),
// and Nabla's version; the file is named by a hash of the key and holds the
// key itself, so a hash collision is a miss, not a wrong kernel.
//
// File: "NABLAKC1", the key's length and bytes, the object count, each
// object's length and bytes, then a 64-bit checksum of everything before
// it. A file that is truncated, malformed or fails its checksum is ignored
// (and replaced by the recompiled step); files are written atomically, so
// two runs writing the same entry at once leave one whole file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nabla::codegen {

class KernelCache {
public:
  /// The cache of the environment's folder; disabled when it is "off" or
  /// no folder can be found.
  static KernelCache fromEnvironment();
  explicit KernelCache(std::string folder) : folder_(std::move(folder)) {}

  bool enabled() const { return !folder_.empty(); }
  const std::string &folder() const { return folder_; }

  /// The objects stored under `key`, or nothing (missing, unreadable,
  /// corrupt, or another key with the same hash).
  std::optional<std::vector<std::string>> load(const std::string &key) const;
  /// Stores `objects` under `key` (creating the folder). False when the file
  /// cannot be written; the step still runs.
  bool store(const std::string &key, const std::vector<std::string> &objects) const;

  /// A 64-bit hash of `text` (FNV-1a), as 16 hex digits.
  static std::string hash(const std::string &text);

private:
  std::string path(const std::string &key) const;
  std::string folder_;
};

} // namespace nabla::codegen
