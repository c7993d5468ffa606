#include "training/Progress.h"

#include <fmt/format.h>
#include <llvm/Support/Process.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>

namespace nabla {

std::string formatDuration(double seconds) {
  int64_t s = std::isfinite(seconds) && seconds > 0 ? int64_t(seconds + 0.5) : 0;
  if (s >= 3600)
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Progress::Progress(llvm::raw_fd_ostream &os, bool quiet, bool live)
    : os_(os), quiet_(quiet), live_(live && !quiet) {}

void Progress::startEpoch(int64_t epoch, int64_t epochs, int64_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  epochStart_ = lastDraw_ = std::chrono::steady_clock::now();
}

void Progress::step(int64_t done, const std::vector<std::pair<std::string, double>> &values,
                    double samplesPerSecond) {
  if (!live_)
    return;
  auto now = std::chrono::steady_clock::now();
  if (done != steps_ && now - lastDraw_ < std::chrono::milliseconds(100))
    return;
  lastDraw_ = now;
  constexpr int kWidth = 24;
  int filled = steps_ ? int(kWidth * done / steps_) : kWidth;
  std::string bar = std::string(size_t(filled), '=') + (filled < kWidth ? ">" : "") +
                    std::string(size_t(std::max(0, kWidth - filled - 1)), ' ');
  double elapsed = std::chrono::duration<double>(now - epochStart_).count();
  // The time left for the whole run, at this epoch's pace.
  int64_t stepsLeft = steps_ - done + (epochs_ - epoch_) * steps_;
  double eta = done ? elapsed / double(done) * double(stepsLeft) : 0;
  std::string line = fmt::format("epoch {}/{} [{}] {}/{}", epoch_, epochs_, bar, done, steps_);
  for (const auto &[name, value] : values)
    line += fmt::format("  {} {:.4f}", name, value);
  line += fmt::format("  {:.0f} samples/s  ETA {}", samplesPerSecond, formatDuration(eta));
  // A line wider than the terminal would wrap, and \r would not return to its start.
  unsigned columns = llvm::sys::Process::StandardErrColumns();
  if (columns > 1 && line.size() >= columns)
    line.resize(columns - 1);
  os_ << "\r\x1b[K" << line;
  os_.flush();
}

void Progress::endEpoch(const std::string &summary) {
  if (quiet_)
    return;
  if (live_)
    os_ << "\r\x1b[K";
  os_ << summary << "\n";
  os_.flush();
}

void Progress::note(const std::string &text) {
  if (quiet_)
    return;
  os_ << text << "\n";
  os_.flush();
}

} // namespace nabla
