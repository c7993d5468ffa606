#include "runtime/DataSources.h"
#include "runtime/TensorFiles.h"

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

std::optional<Tensor> loadSource(const DataSource &source, DType dtype, std::string &error) {
  switch (source.kind) {
  case DataSource::Kind::Idx: return readIdx(source.path, dtype, source.scale, error);
  case DataSource::Kind::Csv: return readCsv(source, dtype, error);
  case DataSource::Kind::Npy: {
    std::optional<Tensor> t = readNpy(source.path, error);
    if (!t)
      return std::nullopt;
    if (dtype == DType::I32) {
      if (t->dtype() != DType::I32) {
        error = "the file holds floating-point values, but the input holds i32 labels";
        return std::nullopt;
      }
      return t;
    }
    Tensor out(dtype, t->shape());
    for (int64_t i = 0; i < t->numel(); ++i)
      out.set(i, t->get(i) * source.scale);
    return out;
  }
  }
  return std::nullopt;
}

} // namespace nabla
