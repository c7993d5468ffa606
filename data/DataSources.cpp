#include "data/DataSources.h"
#include "data/TensorFiles.h"

#include <cmath>

namespace nabla {

DataSource sourceForFile(const std::string &path) {
  DataSource s;
  s.path = path;
  auto endsWith = [&](const char *suffix) {
    size_t n = std::char_traits<char>::length(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  s.kind = endsWith(".npy")   ? DataSource::Kind::Npy
           : endsWith(".csv") ? DataSource::Kind::Csv
                              : DataSource::Kind::Idx;
  return s;
}

int64_t Examples::numel() const { return compact() ? int64_t(bytes.size()) : values.numel(); }

/// Examples held as a tensor.
static std::optional<Examples> asExamples(std::optional<Tensor> t) {
  if (!t)
    return std::nullopt;
  Examples e;
  e.shape = t->shape();
  e.values = std::move(*t);
  return e;
}

std::optional<Examples> loadSource(const DataSource &source, DType dtype, std::string &error) {
  switch (source.kind) {
  case DataSource::Kind::Idx: return readIdxExamples(source.path, dtype, source.scale, error);
  case DataSource::Kind::Csv: return asExamples(readCsv(source, dtype, error));
  case DataSource::Kind::Npy: {
    std::optional<Tensor> t = readNpy(source.path, error);
    if (!t)
      return std::nullopt;
    if (dtype == DType::I32) {
      if (t->dtype() != DType::I32) {
        error = "the file holds floating-point values, but the input holds i32 labels";
        return std::nullopt;
      }
      return asExamples(std::move(t));
    }
    Tensor out(dtype, t->shape());
    for (int64_t i = 0; i < t->numel(); ++i)
      out.set(i, t->get(i) * source.scale);
    return asExamples(std::move(out));
  }
  }
  return std::nullopt;
}

} // namespace nabla
