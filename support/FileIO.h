//===- FileIO.h - Reading and atomically writing files ----------*- C++ -*-===//
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llvm {
class MemoryBuffer;
}

namespace nabla {

/// The contents of `path` (memory-mapped when large). On failure returns null
/// and sets `error` to the reason (without the file name).
std::unique_ptr<llvm::MemoryBuffer> readBinaryFile(const std::string &path, std::string &error);

/// Writes the concatenation of `chunks` to `path` so that `path` holds either
/// its old contents or all of the new ones, never a part: the data goes to a
/// temporary file in the same folder, is flushed to disk, and is renamed over
/// `path`. On failure the temporary file is removed and `error` is set.
bool writeFileAtomically(const std::string &path, const std::vector<std::string_view> &chunks,
                         std::string &error);

} // namespace nabla
