//===- Csv.cpp - CSV files of numbers -------------------------------------===//
//
// Comma-separated numbers, one example per line, optionally after a header of
// column names. The selected columns (all by default) become the values of
// one example, in the order they are listed.
//
//===----------------------------------------------------------------------===//
#include "data/DataSources.h"
#include "support/FileIO.h"

#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>

#include <charconv>
#include <cmath>

namespace nabla {

namespace {

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      std::string_view f = line.substr(start, i - start);
      while (!f.empty() && (f.front() == ' ' || f.front() == '\t'))
        f.remove_prefix(1);
      while (!f.empty() && (f.back() == ' ' || f.back() == '\t' || f.back() == '\r'))
        f.remove_suffix(1);
      fields.push_back(f);
      start = i + 1;
    }
  return fields;
}

} // namespace

std::optional<Tensor> readCsv(const DataSource &source, DType dtype, std::string &error) {
  auto buffer = readBinaryFile(source.path, error);
  if (!buffer)
    return std::nullopt;
  return parseCsv(buffer->getBuffer(), source, dtype, error);
}

std::optional<Tensor> parseCsv(std::string_view text, const DataSource &source, DType dtype,
                               std::string &error) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  size_t first = 0;
  std::vector<int64_t> columns = source.columns;
  std::vector<std::string_view> names;
  if (source.header) {
    while (first < lines.size() && splitFields(lines[first]).size() == 1 &&
           splitFields(lines[first])[0].empty())
      ++first;
    if (first == lines.size()) {
      error = "the file is empty, but a header line is expected";
      return std::nullopt;
    }
    names = splitFields(lines[first]);
    ++first;
    for (const std::string &wanted : source.columnNames) {
      auto it = std::find(names.begin(), names.end(), wanted);
      if (it == names.end()) {
        std::string all;
        for (std::string_view n : names)
          all += (all.empty() ? "" : ", ") + std::string(n);
        error = fmt::format("no column named '{}' in the header ({})", wanted, all);
        return std::nullopt;
      }
      columns.push_back(int64_t(it - names.begin()));
    }
  }
  // Data lines (blank lines are skipped).
  std::vector<size_t> rows;
  for (size_t i = first; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    while (!l.empty() && (l.back() == '\r' || l.back() == ' '))
      l.remove_suffix(1);
    if (!l.empty())
      rows.push_back(i);
  }
  if (rows.empty()) {
    error = "the file has no data rows";
    return std::nullopt;
  }
  size_t width = names.empty() ? splitFields(lines[rows[0]]).size() : names.size();
  if (columns.empty())
    for (size_t c = 0; c < width; ++c)
      columns.push_back(int64_t(c));
  for (int64_t c : columns)
    if (c >= int64_t(width)) {
      error = fmt::format("column {} does not exist: the rows have {} columns", c, width);
      return std::nullopt;
    }
  if (!checkAllocation(dtype, {int64_t(rows.size()), int64_t(columns.size())}, error))
    return std::nullopt;
  Tensor t(dtype, {int64_t(rows.size()), int64_t(columns.size())});
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string_view> fields = splitFields(lines[rows[r]]);
    size_t lineNumber = rows[r] + 1;
    if (fields.size() != width) {
      error =
          fmt::format("line {}: expected {} fields, found {}", lineNumber, width, fields.size());
      return std::nullopt;
    }
    for (size_t k = 0; k < columns.size(); ++k) {
      std::string_view f = fields[size_t(columns[k])];
      double v = 0;
      auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (f.empty() || ec != std::errc() || ptr != f.data() + f.size()) {
        error = fmt::format("line {}, column {}: '{}' is not a number", lineNumber, columns[k] + 1,
                            std::string(f.substr(0, 40)));
        return std::nullopt;
      }
      if (dtype == DType::I32 && (v != std::floor(v) || std::fabs(v) > 2147483647.0)) {
        error = fmt::format("line {}, column {}: the input holds i32 labels, but '{}' is not an "
                            "integer",
                            lineNumber, columns[k] + 1, std::string(f));
        return std::nullopt;
      }
      t.set(int64_t(r * columns.size() + k), dtype == DType::I32 ? v : v * source.scale);
    }
  }
  return t;
}

} // namespace nabla
