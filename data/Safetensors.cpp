//===- Safetensors.cpp - safetensors files --------------------------------===//
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (plus
// an optional "__metadata__"), then the data; offsets count from the first
// byte after the header.
//
//===----------------------------------------------------------------------===//
#include "data/ElementCodec.h"
#include "data/TensorFiles.h"
#include "support/FileIO.h"

#include <fmt/format.h>
#include <llvm/Support/JSON.h>
#include <llvm/Support/MemoryBuffer.h>

namespace nabla {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;
constexpr unsigned kMaxJsonDepth = 16;

/// The deepest nesting of arrays and objects in `json`, so that a forged
/// header cannot drive the recursive JSON parser past the stack.
unsigned jsonDepth(std::string_view json) {
  unsigned depth = 0, deepest = 0;
  bool inString = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<int64_t> asCount(const llvm::json::Value *v) {
  if (!v)
    return std::nullopt;
  std::optional<int64_t> n = v->getAsInteger();
  if (!n || *n < 0)
    return std::nullopt;
  return n;
}

} // namespace

std::optional<std::vector<NamedTensor>> parseSafetensors(std::string_view bytes, std::string &error,
                                                         Metadata *metadata) {
  if (bytes.size() < 8) {
    error = "truncated: the 8-byte header length is missing";
    return std::nullopt;
  }
  uint64_t headerLength = 0;
  for (int i = 0; i < 8; ++i)
    headerLength |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (headerLength > kMaxHeader || headerLength > bytes.size() - 8) {
    error =
        fmt::format("the header length {} exceeds the file ({} bytes)", headerLength, bytes.size());
    return std::nullopt;
  }
  std::string_view header = bytes.substr(8, headerLength);
  std::string_view data = bytes.substr(8 + headerLength);
  if (jsonDepth(header) > kMaxJsonDepth) {
    error = "the header is not a safetensors header (its JSON is nested too deeply)";
    return std::nullopt;
  }
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(header);
  if (!parsed) {
    error = "the header is not valid JSON: " + llvm::toString(parsed.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "the header is not a JSON object";
    return std::nullopt;
  }
  // Keep the order of the data for a stable result.
  struct Entry {
    std::string name;
    const llvm::json::Object *info;
    int64_t begin;
  };
  std::vector<Entry> entries;
  for (const auto &[key, value] : *root) {
    if (key == "__metadata__") {
      if (const llvm::json::Object *m = value.getAsObject(); m && metadata)
        for (const auto &[k, v] : *m)
          if (std::optional<llvm::StringRef> text = v.getAsString())
            (*metadata)[k.str()] = text->str();
      continue;
    }
    const llvm::json::Object *info = value.getAsObject();
    if (!info) {
      error = fmt::format("the entry for '{}' is not an object", key.str());
      return std::nullopt;
    }
    const llvm::json::Array *offsets = info->getArray("data_offsets");
    std::optional<int64_t> begin =
        offsets && offsets->size() == 2 ? asCount(&(*offsets)[0]) : std::nullopt;
    if (!begin) {
      error = fmt::format("'{}' has no valid data_offsets [begin, end]", key.str());
      return std::nullopt;
    }
    entries.push_back({key.str(), info, *begin});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.name < b.name;
  });

  std::vector<NamedTensor> result;
  for (const Entry &e : entries) {
    auto fail = [&](const std::string &what) {
      error = fmt::format("tensor '{}': {}", e.name, what);
      return std::nullopt;
    };
    std::optional<llvm::StringRef> dtype = e.info->getString("dtype");
    ElementFormat format;
    if (dtype == "F32" || dtype == "F64" || dtype == "I32" || dtype == "I64") {
      format.isFloat = (*dtype)[0] == 'F';
      format.size = dtype->ends_with("64") ? 8 : 4;
    } else {
      return fail(fmt::format("unsupported dtype {}; F32, F64, I32 and I64 are read",
                              dtype ? dtype->str() : "(missing)"));
    }
    const llvm::json::Array *shapeJson = e.info->getArray("shape");
    if (!shapeJson || shapeJson->size() > kMaxRank)
      return fail("'shape' is missing or has more than 8 dimensions");
    std::vector<int64_t> shape;
    for (const llvm::json::Value &d : *shapeJson) {
      std::optional<int64_t> n = asCount(&d);
      if (!n)
        return fail("'shape' holds something other than non-negative integers");
      shape.push_back(*n);
    }
    const llvm::json::Array &offsets = *e.info->getArray("data_offsets");
    std::optional<int64_t> end = asCount(&offsets[1]);
    if (!end || *end < e.begin || uint64_t(*end) > data.size())
      return fail(fmt::format("data_offsets [{}, {}] do not lie within the {} bytes of data",
                              e.begin, end ? std::to_string(*end) : "?", data.size()));
    std::string decodeError;
    std::optional<Tensor> t =
        decodeElements(data.substr(e.begin, *end - e.begin), format, shape, decodeError);
    if (!t)
      return fail(decodeError);
    result.emplace_back(e.name, std::move(*t));
  }
  return result;
}

std::optional<std::vector<NamedTensor>> readSafetensors(const std::string &path, std::string &error,
                                                        Metadata *metadata) {
  auto buffer = readBinaryFile(path, error);
  if (!buffer)
    return std::nullopt;
  return parseSafetensors(buffer->getBuffer(), error, metadata);
}

bool writeSafetensors(const std::string &path,
                      const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                      std::string &error, const Metadata &metadata) {
  llvm::json::Object header;
  if (!metadata.empty()) {
    llvm::json::Object m;
    for (const auto &[k, v] : metadata)
      m[k] = v;
    header["__metadata__"] = std::move(m);
  }
  uint64_t offset = 0;
  std::vector<std::string_view> chunks{"", ""};
  for (const auto &[name, t] : tensors) {
    llvm::json::Array shape;
    for (int64_t d : t->shape())
      shape.push_back(d);
    const char *dtype = t->dtype() == DType::F32 ? "F32" : t->dtype() == DType::F64 ? "F64" : "I32";
    header[name] = llvm::json::Object{
        {"dtype", dtype},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{int64_t(offset), int64_t(offset + t->byteSize())}}};
    offset += t->byteSize();
    chunks.push_back(elementBytes(*t));
  }
  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::json::Value(std::move(header));
  os.flush();
  json.append((8 - json.size() % 8) % 8, ' '); // align the data to 8 bytes
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<char>((uint64_t(json.size()) >> (8 * i)) & 0xFF);
  chunks[0] = length;
  chunks[1] = json;
  return writeFileAtomically(path, chunks, error);
}

std::optional<Tensor> readTensorFile(const std::string &path, std::string &error) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0)
    return readNpy(path, error);
  auto tensors = readSafetensors(path, error);
  if (!tensors)
    return std::nullopt;
  if (tensors->size() != 1) {
    error = fmt::format("a safetensors file fed to one input must hold one tensor, not {}",
                        tensors->size());
    return std::nullopt;
  }
  return std::move(tensors->front().second);
}

} // namespace nabla
