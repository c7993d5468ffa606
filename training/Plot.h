//===- Plot.h - Training curves as SVG --------------------------*- C++ -*-===//
#pragma once

#include <string>
#include <vector>

namespace nabla {

/// One quantity over the epochs: the loss or a metric, on the training data
/// and (when there is a test set) on the test data.
struct Series {
  std::string name;
  std::vector<double> train;
  std::vector<double> test; ///< empty without a test set
};

/// An SVG document with one panel per series: the epoch on the x axis, the
/// value on the y axis, ticks and grid lines on both, a line and markers per
/// curve, and a legend.
std::string plotSvg(const std::vector<Series> &series, const std::string &title);

/// The tick positions for [lo, hi]: about `count` round numbers (1, 2 or 5
/// times a power of ten apart) covering the range.
std::vector<double> niceTicks(double lo, double hi, int count);

} // namespace nabla
