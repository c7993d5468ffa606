//===- Progress.h - What a training run shows as it goes --------*- C++ -*-===//
//
// On a terminal, a live line redrawn a few times a second: the epoch, a bar,
// the step, the running loss and metrics, samples per second and the time
// left. Elsewhere (a file, a pipe), one line per epoch. --quiet shows nothing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class raw_fd_ostream;
}

namespace nabla {

class Progress {
public:
  /// `live`: redraw one line on a terminal.
  Progress(llvm::raw_fd_ostream &os, bool quiet, bool live);

  /// Whether a live line is drawn (else step() does nothing).
  bool live() const { return live_; }
  void startEpoch(int64_t epoch, int64_t epochs, int64_t steps);
  /// After a step: `values` are the running averages of the epoch.
  void step(int64_t done, const std::vector<std::pair<std::string, double>> &values,
            double samplesPerSecond);
  /// The epoch's summary line (it replaces the live line on a terminal).
  void endEpoch(const std::string &summary);
  /// A note on its own line.
  void note(const std::string &text);

private:
  llvm::raw_fd_ostream &os_;
  bool quiet_, live_;
  int64_t epoch_ = 0, epochs_ = 0, steps_ = 0;
  std::chrono::steady_clock::time_point lastDraw_, epochStart_;
};

/// "1:05" or "1:02:03".
std::string formatDuration(double seconds);

} // namespace nabla
