//===- SourceManager.h - Source files and positions in them -----*- C++ -*-===//
//
// Owns the text of every file the compiler reads (scripts, IR files) and maps
// positions to lines for diagnostics. Files are identified by a small integer
// so that a SourceLoc stays 12 bytes and can be copied freely into the IR.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nabla {

/// A position in a source file: 1-based line and byte column. `file` indexes
/// the SourceManager that read the file; line 0 means "no position".
struct SourceLoc {
  uint32_t file = 0;
  uint32_t line = 0;
  uint32_t col = 0;

  bool isValid() const { return line != 0; }
  friend bool operator==(const SourceLoc &, const SourceLoc &) = default;
  /// Orders by file, then line, then column.
  friend bool operator<(const SourceLoc &a, const SourceLoc &b) {
    if (a.file != b.file)
      return a.file < b.file;
    if (a.line != b.line)
      return a.line < b.line;
    return a.col < b.col;
  }
};

/// Holds source buffers by id (ids start at 1; 0 is "no file").
class SourceManager {
public:
  /// Scripts larger than this are refused before they are read.
  static constexpr uint64_t kMaxFileBytes = 64u << 20;

  /// Adds an in-memory buffer under `name` and returns its id.
  uint32_t addBuffer(std::string name, std::string text);

  /// Reads `path` into a new buffer. On failure returns 0 and sets `error` to
  /// a message that names the file and the reason.
  uint32_t addFile(const std::string &path, std::string &error);

  /// Registers a file name without text (a location in an IR file may point
  /// at a script that is not loaded); its lines read as empty.
  uint32_t addName(std::string name);

  /// Returns the id of a buffer already registered under `name`, or 0.
  uint32_t findByName(std::string_view name) const;

  const std::string &name(uint32_t id) const;
  std::string_view text(uint32_t id) const;

  /// The text of 1-based `line` without its line terminator ("" if out of range).
  std::string_view lineText(uint32_t id, uint32_t line) const;

private:
  struct Buffer {
    std::string name;
    std::string text;
    std::vector<uint32_t> lineStarts; ///< byte offset of each line's start
  };
  const Buffer *get(uint32_t id) const;
  std::vector<std::unique_ptr<Buffer>> buffers_;
};

} // namespace nabla
