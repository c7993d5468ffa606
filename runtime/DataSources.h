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

#include "frontend/Program.h"
#include "runtime/Tensor.h"

#include <optional>
#include <string>
#include <string_view>

namespace nabla {

/// Reads `source` as `dtype` (i32 sources must hold integers). On failure
/// returns nothing and sets `error` (without the file name).
std::optional<Tensor> loadSource(const DataSource &source, DType dtype, std::string &error);

std::optional<Tensor> readIdx(const std::string &path, DType dtype, double scale,
                              std::string &error);
std::optional<Tensor> readCsv(const DataSource &source, DType dtype, std::string &error);

/// The parsers behind readIdx (uncompressed data) and readCsv.
std::optional<Tensor> parseIdx(std::string_view bytes, DType dtype, double scale,
                               std::string &error);
std::optional<Tensor> parseCsv(std::string_view text, const DataSource &source, DType dtype,
                               std::string &error);

/// A source for a file named on the command line, by its extension: .npy,
/// .csv (every column, with a header), else IDX.
DataSource sourceForFile(const std::string &path);

} // namespace nabla
