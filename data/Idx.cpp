//===- Idx.cpp - IDX files (MNIST's format), gzip-compressed or not -------===//
//
// Layout: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte,
// 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
// dimensions, each dimension as a big-endian uint32, then the elements,
// big-endian, in row-major order.
//
//===----------------------------------------------------------------------===//
#include "data/DataSources.h"
#include "data/Gzip.h"
#include "support/FileIO.h"

#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>

#include <cstring>

namespace nabla {

namespace {

/// The size in bytes of an element of IDX type `type`, or 0 for an unknown type.
size_t idxElementSize(unsigned type) {
  switch (type) {
  case 0x08:
  case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C:
  case 0x0D: return 4;
  case 0x0E: return 8;
  default: return 0;
  }
}

uint64_t bigEndian(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t k = 0; k < n; ++k)
    v = v << 8 | p[k];
  return v;
}

/// Element `e` (big-endian, of IDX type `type`) as a double.
double idxElement(const unsigned char *e, unsigned type) {
  switch (type) {
  case 0x08: return e[0];
  case 0x09: return int8_t(e[0]);
  case 0x0B: return int16_t(uint16_t(bigEndian(e, 2)));
  case 0x0C: return int32_t(uint32_t(bigEndian(e, 4)));
  case 0x0D: {
    uint32_t bits = uint32_t(bigEndian(e, 4));
    float x;
    std::memcpy(&x, &bits, 4);
    return x;
  }
  default: {
    uint64_t bits = bigEndian(e, 8);
    double x;
    std::memcpy(&x, &bits, 8);
    return x;
  }
  }
}

} // namespace

/// The checked header of an IDX file: element type and size, shape, and
/// where the data starts; the data is all there.
struct IdxLayout {
  unsigned type;
  size_t elementSize;
  std::vector<int64_t> shape;
  size_t dataOffset;
};

static std::optional<IdxLayout> checkIdx(std::string_view bytes, DType dtype, std::string &error) {
  const auto *data = reinterpret_cast<const unsigned char *>(bytes.data());
  if (bytes.size() < 4) {
    error = "truncated: the 4-byte IDX header is missing";
    return std::nullopt;
  }
  if (data[0] != 0 || data[1] != 0) {
    error = fmt::format("not an IDX file: the first two bytes are {:#04x} {:#04x}, not 0 0",
                        data[0], data[1]);
    return std::nullopt;
  }
  unsigned type = data[2], rank = data[3];
  size_t elementSize = idxElementSize(type);
  if (!elementSize) {
    error = fmt::format("unknown IDX element type {:#04x} at offset 2", type);
    return std::nullopt;
  }
  if (rank == 0 || rank > kMaxRank) {
    error =
        fmt::format("an IDX file with {} dimensions at offset 3; 1 to {} are read", rank, kMaxRank);
    return std::nullopt;
  }
  size_t headerSize = 4 + 4 * size_t(rank);
  if (bytes.size() < headerSize) {
    error = fmt::format("truncated at offset {}: dimension {} is missing", bytes.size(),
                        (bytes.size() - 4) / 4);
    return std::nullopt;
  }
  std::vector<int64_t> shape(rank);
  uint64_t count = 1;
  for (unsigned d = 0; d < rank; ++d) {
    shape[d] = int64_t(bigEndian(data + 4 + 4 * d, 4));
    count = count * uint64_t(shape[d]);
    if (count > bytes.size()) // no overflow: each factor is below 2^32
      break;
  }
  // The data must be all there before anything is allocated for it.
  size_t present = bytes.size() - headerSize;
  if (count > present / elementSize || count * elementSize != present) {
    std::string dims;
    for (int64_t d : shape)
      dims += (dims.empty() ? "" : " x ") + std::to_string(d);
    error = count > present / elementSize
                ? fmt::format("truncated: the header announces {} elements of {} byte{}, but "
                              "{} bytes follow it (from offset {})",
                              dims, elementSize, elementSize == 1 ? "" : "s", present, headerSize)
                : fmt::format("{} elements end at offset {}, but the file goes on to {} bytes",
                              count, headerSize + count * elementSize, bytes.size());
    return std::nullopt;
  }
  if (dtype == DType::I32 && (type == 0x0D || type == 0x0E)) {
    error = "the file holds floating-point values, but the input holds i32 labels";
    return std::nullopt;
  }
  return IdxLayout{type, elementSize, shape, headerSize};
}

std::optional<Tensor> parseIdx(std::string_view bytes, DType dtype, double scale,
                               std::string &error) {
  std::optional<IdxLayout> layout = checkIdx(bytes, dtype, error);
  if (!layout || !checkAllocation(dtype, layout->shape, error))
    return std::nullopt;
  Tensor t(dtype, layout->shape);
  const auto *e = reinterpret_cast<const unsigned char *>(bytes.data()) + layout->dataOffset;
  for (int64_t i = 0; i < t.numel(); ++i, e += layout->elementSize) {
    double v = idxElement(e, layout->type);
    t.set(i, dtype == DType::I32 ? v : v * scale);
  }
  return t;
}

std::optional<Examples> parseIdxExamples(std::string_view bytes, DType dtype, double scale,
                                         std::string &error) {
  std::optional<IdxLayout> layout = checkIdx(bytes, dtype, error);
  if (!layout)
    return std::nullopt;
  Examples examples;
  examples.shape = layout->shape;
  if (layout->type == 0x08 && isFloat(dtype)) {
    // Images: keep the bytes, a quarter of the floats they become.
    examples.bytes.assign(bytes.begin() + std::ptrdiff_t(layout->dataOffset), bytes.end());
    examples.scale = scale;
    return examples;
  }
  std::optional<Tensor> t = parseIdx(bytes, dtype, scale, error);
  if (!t)
    return std::nullopt;
  examples.values = std::move(*t);
  return examples;
}

/// The bytes of an IDX file, decompressed when gzip (detected from the
/// data); `gzipped` says which.
static std::optional<std::string> idxBytes(const std::string &path, bool &gzipped,
                                           std::string &error) {
  std::unique_ptr<llvm::MemoryBuffer> file = readBinaryFile(path, error);
  if (!file)
    return std::nullopt;
  std::string_view bytes(file->getBufferStart(), file->getBufferSize());
  gzipped = isGzip(bytes);
  if (!gzipped)
    return std::string(bytes);
  return gunzip(bytes, tensorMemoryLimit(), error);
}

/// Parses the bytes of `path` with `parse`; errors in decompressed data say so.
template <typename Parse>
static auto readIdxWith(const std::string &path, std::string &error, Parse parse)
    -> decltype(parse(std::string_view())) {
  bool gzipped = false;
  std::optional<std::string> bytes = idxBytes(path, gzipped, error);
  if (!bytes)
    return std::nullopt;
  auto parsed = parse(*bytes);
  if (!parsed && gzipped)
    error = "(decompressed) " + error;
  return parsed;
}

std::optional<Tensor> readIdx(const std::string &path, DType dtype, double scale,
                              std::string &error) {
  return readIdxWith(path, error,
                     [&](std::string_view b) { return parseIdx(b, dtype, scale, error); });
}

std::optional<Examples> readIdxExamples(const std::string &path, DType dtype, double scale,
                                        std::string &error) {
  return readIdxWith(path, error,
                     [&](std::string_view b) { return parseIdxExamples(b, dtype, scale, error); });
}

} // namespace nabla
