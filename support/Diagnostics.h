//===- Diagnostics.h - Errors and notes pointing at source ------*- C++ -*-===//
//
// Every user-facing error goes through a DiagnosticEngine. Diagnostics are
// collected, then printed sorted by position in the form the CLI spec fixes:
//
//   FILE:LINE:COL: error: MESSAGE
//   <the source line>
//        ^
//   FILE:LINE:COL: note: MESSAGE
//
// A diagnostic without a position prints as `FILE: error: MESSAGE` (a data
// file) or `nabla: error: MESSAGE` (no file at all).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/SourceManager.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
}

namespace nabla {

enum class Severity { Error, Warning, Note };

/// One message with its position, and the notes that explain it.
struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLoc loc;
  /// Names the file when there is no position (a data file, a parameter file).
  std::string fileName;
  std::string message;
  std::vector<Diagnostic> notes;
};

class DiagnosticEngine {
public:
  /// Errors past this count are dropped and one line says so.
  static constexpr unsigned kDefaultErrorLimit = 20;

  explicit DiagnosticEngine(const SourceManager &sources) : sources_(sources) {}

  /// Records an error at `loc`.
  template <typename... Args>
  void error(SourceLoc loc, fmt::format_string<Args...> format, Args &&...args) {
    report(Severity::Error, loc, fmt::format(format, std::forward<Args>(args)...));
  }
  /// Records a note attached to the most recent error or warning.
  template <typename... Args>
  void note(SourceLoc loc, fmt::format_string<Args...> format, Args &&...args) {
    report(Severity::Note, loc, fmt::format(format, std::forward<Args>(args)...));
  }
  /// Records an error about a file as a whole (no line): `FILE: error: MESSAGE`.
  template <typename... Args>
  void fileError(std::string fileName, fmt::format_string<Args...> format, Args &&...args) {
    Diagnostic d;
    d.fileName = std::move(fileName);
    d.message = fmt::format(format, std::forward<Args>(args)...);
    add(std::move(d));
  }

  void report(Severity severity, SourceLoc loc, std::string message);

  bool hasErrors() const { return errorCount_ > 0; }
  unsigned errorCount() const { return errorCount_; }
  /// True once the error limit is reached: callers may stop early.
  bool limitReached() const { return errorLimit_ != 0 && errorCount_ >= errorLimit_; }
  /// 0 means no limit.
  void setErrorLimit(unsigned limit) { errorLimit_ = limit; }

  /// The diagnostics recorded so far, in the order reported (notes nested).
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }

  /// The recorded diagnostics in the order they print: by position, ties in
  /// the order reported.
  std::vector<const Diagnostic *> sorted() const;

  /// Prints every recorded diagnostic, sorted by position, and forgets them.
  void flush(llvm::raw_ostream &os);

  /// Formats one diagnostic and its notes as they would be printed.
  std::string format(const Diagnostic &d) const;

private:
  void add(Diagnostic d);
  void formatOne(const Diagnostic &d, std::string &out) const;

  const SourceManager &sources_;
  std::vector<Diagnostic> diags_;
  unsigned errorCount_ = 0;
  unsigned errorLimit_ = kDefaultErrorLimit;
  bool dropped_ = false;        ///< an error was dropped for the limit
  bool lastWasDropped_ = false; ///< notes of a dropped error are dropped too
};

/// Renders `line` for display under a diagnostic: control bytes and invalid
/// UTF-8 become '?', and a very long line is cut to a window around `col`
/// (1-based byte column). Returns the displayed text and sets `caretPrefix`
/// to the whitespace that puts a caret under the column.
std::string renderSourceLine(std::string_view line, uint32_t col, std::string &caretPrefix);

} // namespace nabla
