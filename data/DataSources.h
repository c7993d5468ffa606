//===- DataSources.h - Training data from files -----------------*- C++ -*-===//
//
// Reads the sources of the train block (or of --data/--test): IDX files
// (gzip-compressed or not), .npy files and CSV files, into a tensor whose
// first axis is the example axis, in the dtype of the input it feeds and
// multiplied by the source's scale. Errors say what was expected and where:
// the byte offset in an IDX file, the row and column in a CSV file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/TrainConfig.h"
#include "runtime/Tensor.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nabla {

/// A source's examples as loaded: the source's shape (examples first) and
/// either the values in the input's dtype, or, for unsigned bytes that feed a
/// float input (IDX images), the bytes themselves with their scale: a quarter
/// of the memory, converted batch by batch to exactly the floats they stand for.
struct Examples {
  std::vector<int64_t> shape;
  Tensor values;              ///< empty when `bytes` hold the data
  std::vector<uint8_t> bytes; ///< each value is bytes[i] * scale
  double scale = 1;

  bool compact() const { return values.empty(); }
  int64_t numel() const;
};

/// Reads `source` for an input of `dtype` (i32 sources must hold integers).
/// On failure returns nothing and sets `error` (without the file name).
std::optional<Examples> loadSource(const DataSource &source, DType dtype, std::string &error);

std::optional<Tensor> readIdx(const std::string &path, DType dtype, double scale,
                              std::string &error);
std::optional<Tensor> readCsv(const DataSource &source, DType dtype, std::string &error);

/// IDX examples, compact when they are unsigned bytes for a float input.
std::optional<Examples> readIdxExamples(const std::string &path, DType dtype, double scale,
                                        std::string &error);
std::optional<Examples> parseIdxExamples(std::string_view bytes, DType dtype, double scale,
                                         std::string &error);

/// The parsers behind readIdx (uncompressed data) and readCsv.
std::optional<Tensor> parseIdx(std::string_view bytes, DType dtype, double scale,
                               std::string &error);
std::optional<Tensor> parseCsv(std::string_view text, const DataSource &source, DType dtype,
                               std::string &error);

/// A source for a file named on the command line, by its extension: .npy,
/// .csv (every column, with a header), else IDX.
DataSource sourceForFile(const std::string &path);

} // namespace nabla
