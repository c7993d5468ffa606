#include "support/Diagnostics.h"
#include "support/Text.h"

#include <llvm/Support/raw_ostream.h>

#include <algorithm>

namespace nabla {

void DiagnosticEngine::report(Severity severity, SourceLoc loc, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.loc = loc;
  d.message = std::move(message);
  add(std::move(d));
}

void DiagnosticEngine::add(Diagnostic d) {
  if (d.severity == Severity::Note) {
    if (lastWasDropped_ || diags_.empty())
      return;
    diags_.back().notes.push_back(std::move(d));
    return;
  }
  if (d.severity == Severity::Error) {
    if (limitReached()) {
      dropped_ = true;
      lastWasDropped_ = true;
      return;
    }
    ++errorCount_;
  }
  lastWasDropped_ = false;
  diags_.push_back(std::move(d));
}

std::string renderSourceLine(std::string_view line, uint32_t col, std::string &caretPrefix) {
  constexpr size_t kMaxShown = 160, kContext = 70;
  size_t caretByte = col == 0 ? 0 : std::min<size_t>(col - 1, line.size());
  size_t begin = 0, end = line.size();
  if (line.size() > kMaxShown) {
    begin = caretByte > kContext ? caretByte - kContext : 0;
    end = std::min(line.size(), begin + 2 * kContext);
    // Do not start or end inside a UTF-8 sequence.
    while (begin > 0 && (static_cast<unsigned char>(line[begin]) & 0xC0) == 0x80)
      --begin;
    while (end < line.size() && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80)
      ++end;
  }
  std::string shown, prefix;
  if (begin > 0) {
    shown += "...";
    prefix += "   ";
  }
  for (size_t i = begin; i < end;) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    size_t n = utf8SequenceLength(line, i);
    bool beforeCaret = i < caretByte;
    if (c == '\t') {
      shown += '\t';
      if (beforeCaret)
        prefix += '\t';
      i += 1;
      continue;
    }
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      shown += '?';
      n = 1;
    } else {
      shown.append(line.substr(i, n));
    }
    if (beforeCaret)
      prefix += ' ';
    i += n;
  }
  if (end < line.size())
    shown += "...";
  caretPrefix = std::move(prefix);
  return shown;
}

void DiagnosticEngine::formatOne(const Diagnostic &d, std::string &out) const {
  const char *kind = d.severity == Severity::Error     ? "error"
                     : d.severity == Severity::Warning ? "warning"
                                                       : "note";
  if (d.loc.isValid()) {
    out += fmt::format("{}:{}:{}: {}: {}\n", sources_.name(d.loc.file), d.loc.line, d.loc.col, kind,
                       d.message);
    std::string_view line = sources_.lineText(d.loc.file, d.loc.line);
    if (!line.empty()) {
      std::string caretPrefix;
      out += renderSourceLine(line, d.loc.col, caretPrefix);
      out += '\n';
      out += caretPrefix;
      out += "^\n";
    }
  } else if (!d.fileName.empty()) {
    out += fmt::format("{}: {}: {}\n", d.fileName, kind, d.message);
  } else if (d.loc.file != 0) {
    out += fmt::format("{}: {}: {}\n", sources_.name(d.loc.file), kind, d.message);
  } else {
    out += fmt::format("nabla: {}: {}\n", kind, d.message);
  }
}

std::string DiagnosticEngine::format(const Diagnostic &d) const {
  std::string out;
  formatOne(d, out);
  for (const Diagnostic &n : d.notes)
    formatOne(n, out);
  return out;
}

std::vector<const Diagnostic *> DiagnosticEngine::sorted() const {
  // By position; diagnostics at one position keep the order they were reported in.
  std::vector<size_t> order(diags_.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (diags_[a].loc == diags_[b].loc)
      return a < b;
    return diags_[a].loc < diags_[b].loc;
  });
  std::vector<const Diagnostic *> result;
  for (size_t i : order)
    result.push_back(&diags_[i]);
  return result;
}

void DiagnosticEngine::flush(llvm::raw_ostream &os) {
  for (const Diagnostic *d : sorted())
    os << format(*d);
  if (dropped_)
    os << fmt::format("nabla: note: too many errors; only the first {} are shown\n", errorLimit_);
  os.flush();
  diags_.clear();
  dropped_ = false;
  lastWasDropped_ = false;
}

} // namespace nabla
