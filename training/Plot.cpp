#include "training/Plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace nabla {

std::vector<double> niceTicks(double lo, double hi, int count) {
  if (!(hi > lo)) {
    double pad = std::max(std::fabs(lo) * 0.1, 1e-3);
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / std::max(1, count);
  double power = std::pow(10, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  // Whole multiples of the step from below lo to above hi (a hair of
  // tolerance keeps a tick that lands on lo or hi up to rounding).
  double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last && ticks.size() < 50; ++k)
    ticks.push_back(k == 0 ? 0 : k * step);
  return ticks;
}

namespace {

std::string escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string tickLabel(double v) {
  std::string s = fmt::format("{:.4g}", v);
  return s;
}

constexpr double kPanelWidth = 440, kPanelHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 36, kBottom = 48;
/// Curves longer than this are drawn without a marker per epoch.
constexpr size_t kMaxMarkers = 60;
constexpr const char *kTrainColor = "#1f77b4", *kTestColor = "#ff7f0e";

std::string panel(const Series &s, double x0, double y0) {
  std::vector<double> all;
  for (double v : s.train)
    if (std::isfinite(v))
      all.push_back(v);
  for (double v : s.test)
    if (std::isfinite(v))
      all.push_back(v);
  double lo = all.empty() ? 0 : *std::min_element(all.begin(), all.end());
  double hi = all.empty() ? 1 : *std::max_element(all.begin(), all.end());
  std::vector<double> yTicks = niceTicks(lo, hi, 5);
  lo = std::min(lo, yTicks.front());
  hi = std::max(hi, yTicks.back());
  size_t epochs = std::max(s.train.size(), s.test.size());
  std::vector<double> xTicks = niceTicks(1, std::max<double>(2, double(epochs)), 6);
  double xlo = 1, xhi = std::max<double>(2, double(epochs));
  xTicks.erase(std::remove_if(xTicks.begin(), xTicks.end(),
                              [&](double t) {
                                return t < xlo - 1e-9 || t > xhi + 1e-9 || t != std::floor(t);
                              }),
               xTicks.end());
  double plotW = kPanelWidth - kLeft - kRight, plotH = kPanelHeight - kTop - kBottom;
  auto X = [&](double e) { return x0 + kLeft + (e - xlo) / (xhi - xlo) * plotW; };
  auto Y = [&](double v) { return y0 + kTop + (hi - v) / (hi - lo) * plotH; };

  std::string out = fmt::format(
      R"svg(<g class="panel"><text x="{:.1f}" y="{:.1f}" font-size="15" font-weight="bold">{}</text>
)svg",
      x0 + kLeft, y0 + 22, escape(s.name));
  out += fmt::format(
      R"svg(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="white" stroke="#444"/>
)svg",
      x0 + kLeft, y0 + kTop, plotW, plotH);
  for (double t : yTicks) {
    double y = Y(t);
    out += fmt::format(
        R"svg(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ddd"/><text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="end">{}</text>
)svg",
        x0 + kLeft, y, x0 + kLeft + plotW, y, x0 + kLeft - 6, y + 4, tickLabel(t));
  }
  for (double t : xTicks) {
    double x = X(t);
    out += fmt::format(
        R"svg(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ddd"/><text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="middle">{}</text>
)svg",
        x, y0 + kTop, x, y0 + kTop + plotH, x, y0 + kTop + plotH + 16, tickLabel(t));
  }
  out +=
      fmt::format(R"svg(<text x="{:.1f}" y="{:.1f}" font-size="12" text-anchor="middle">epoch</text>
<text x="{:.1f}" y="{:.1f}" font-size="12" text-anchor="middle" transform="rotate(-90 {:.1f} {:.1f})">{}</text>
)svg",
                  x0 + kLeft + plotW / 2, y0 + kPanelHeight - 10, x0 + 16, y0 + kTop + plotH / 2,
                  x0 + 16, y0 + kTop + plotH / 2, escape(s.name));
  auto curve = [&](const std::vector<double> &values, const char *color, const char *label) {
    std::string points;
    std::string markers;
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i]))
        continue;
      double x = X(double(i + 1)), y = Y(values[i]);
      points += fmt::format("{:.1f},{:.1f} ", x, y);
      if (values.size() <= kMaxMarkers)
        markers += fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}"/>)svg", x, y,
                               color);
    }
    if (points.empty())
      return std::string();
    return fmt::format(
        R"svg(<polyline class="{}" points="{}" fill="none" stroke="{}" stroke-width="2"/>{}
)svg",
        label, points, color, markers);
  };
  out += curve(s.train, kTrainColor, "train");
  out += curve(s.test, kTestColor, "test");
  // The legend, in one row above the plot's top right corner, where no
  // curve can hide under it.
  double lx = x0 + kLeft + plotW - (s.test.empty() ? 56 : 112), ly = y0 + 16;
  auto entry = [&](double x, const char *color, const char *label) {
    return fmt::format(
        R"svg(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2"/><text x="{:.1f}" y="{:.1f}" font-size="11">{}</text>
)svg",
        x, ly, x + 20, ly, color, x + 25, ly + 4, label);
  };
  out += entry(lx, kTrainColor, "train");
  if (!s.test.empty())
    out += entry(lx + 56, kTestColor, "test");
  return out + "</g>\n";
}

} // namespace

std::string plotSvg(const std::vector<Series> &series, const std::string &title) {
  size_t columns = std::min<size_t>(2, std::max<size_t>(1, series.size()));
  size_t rows = (series.size() + columns - 1) / columns;
  double width = kPanelWidth * double(columns), height = 40 + kPanelHeight * double(rows);
  std::string out = fmt::format(
      R"svg(<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="{:.1f}" y="26" font-size="17" text-anchor="middle">{}</text>
)svg",
      width, height, width, height, width / 2, escape(title));
  for (size_t i = 0; i < series.size(); ++i)
    out += panel(series[i], kPanelWidth * double(i % columns),
                 40 + kPanelHeight * double(i / columns));
  return out + "</svg>\n";
}

} // namespace nabla
