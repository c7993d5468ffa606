//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// Layout: "\x93NUMPY", major and minor version bytes, the header length
// (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded
// with spaces and a newline, then the raw elements in C order.
//
//===----------------------------------------------------------------------===//
#include "data/ElementCodec.h"
#include "data/TensorFiles.h"
#include "support/FileIO.h"

#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>

namespace nabla {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kMaxHeader = 1 << 20;

/// Reads the header dict: only the three keys NumPy writes.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape, std::string &error) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    if (!eat('{'))
      return fail(error, "the header is not a dict");
    for (;;) {
      if (eat('}'))
        break;
      std::string key;
      if (!string(key) || !eat(':'))
        return fail(error, "the header dict is malformed");
      if (key == "descr") {
        if (!string(descr))
          return fail(error, "'descr' is not a string (structured dtypes are not supported)");
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (word("True"))
          fortran = true;
        else if (word("False"))
          fortran = false;
        else
          return fail(error, "'fortran_order' is neither True nor False");
        haveFortran = true;
      } else if (key == "shape") {
        if (!tuple(shape))
          return fail(error, "'shape' is not a tuple of non-negative integers");
        haveShape = true;
      } else {
        return fail(error, "unexpected key '" + key + "' in the header");
      }
      if (!eat(',')) {
        if (!eat('}'))
          return fail(error, "the header dict is malformed");
        break;
      }
    }
    if (!haveDescr || !haveFortran || !haveShape)
      return fail(error, "the header lacks 'descr', 'fortran_order' or 'shape'");
    return true;
  }

private:
  static bool fail(std::string &error, std::string message) {
    error = std::move(message);
    return false;
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n'))
      ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    skip();
    if (s_.substr(i_, w.size()) != w)
      return false;
    i_ += w.size();
    return true;
  }
  bool string(std::string &out) {
    skip();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"'))
      return false;
    char quote = s_[i_++];
    out.clear();
    while (i_ < s_.size() && s_[i_] != quote)
      out += s_[i_++];
    if (i_ >= s_.size())
      return false;
    ++i_;
    return true;
  }
  bool tuple(std::vector<int64_t> &out) {
    out.clear();
    if (!eat('('))
      return false;
    for (;;) {
      if (eat(')'))
        return true;
      skip();
      size_t start = i_;
      int64_t v = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        if (v > (int64_t(1) << 50))
          return false;
        v = v * 10 + (s_[i_++] - '0');
      }
      if (i_ == start)
        return false;
      if (i_ < s_.size() && s_[i_] == 'L') // Python 2 longs
        ++i_;
      out.push_back(v);
      if (out.size() > kMaxRank)
        return false;
      if (!eat(','))
        return eat(')');
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

} // namespace

std::optional<Tensor> parseNpy(std::string_view bytes, std::string &error) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) {
    error = "not a .npy file (the magic string \\x93NUMPY is missing)";
    return std::nullopt;
  }
  unsigned major = static_cast<unsigned char>(bytes[6]);
  unsigned minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    error =
        fmt::format("unsupported .npy format version {}.{} (1.0 to 3.0 are read)", major, minor);
    return std::nullopt;
  }
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lengthBytes) {
    error = "truncated header";
    return std::nullopt;
  }
  size_t headerLength = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLength |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  size_t headerStart = 8 + lengthBytes;
  if (headerLength > kMaxHeader || headerStart + headerLength > bytes.size()) {
    error =
        fmt::format("the header length {} exceeds the file ({} bytes)", headerLength, bytes.size());
    return std::nullopt;
  }
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  if (!HeaderParser(bytes.substr(headerStart, headerLength)).parse(descr, fortran, shape, error))
    return std::nullopt;
  if (fortran) {
    error = "Fortran-order arrays are not supported; save the array in C order";
    return std::nullopt;
  }
  ElementFormat format;
  std::string_view code = descr;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '=' || code[0] == '|')) {
    format.bigEndian = code[0] == '>';
    code.remove_prefix(1);
  }
  if (code == "f4" || code == "f8" || code == "i4" || code == "i8") {
    format.isFloat = code[0] == 'f';
    format.size = code[1] - '0';
  } else {
    error =
        fmt::format("unsupported dtype '{}': float32, float64, int32 and int64 are read", descr);
    return std::nullopt;
  }
  return decodeElements(bytes.substr(headerStart + headerLength), format, shape, error);
}

std::optional<Tensor> readNpy(const std::string &path, std::string &error) {
  auto buffer = readBinaryFile(path, error);
  if (!buffer)
    return std::nullopt;
  return parseNpy(buffer->getBuffer(), error);
}

bool writeNpy(const std::string &path, const Tensor &t, std::string &error) {
  const char *descr = t.dtype() == DType::F32 ? "<f4" : t.dtype() == DType::F64 ? "<f8" : "<i4";
  std::string shape;
  for (int64_t d : t.shape())
    shape += std::to_string(d) + ", ";
  if (t.rank() > 1)
    shape.resize(shape.size() - 2);
  else if (t.rank() == 1)
    shape.pop_back();
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad with spaces so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string prefix(kMagic);
  prefix += '\x01';
  prefix += '\x00';
  prefix += static_cast<char>(header.size() & 0xFF);
  prefix += static_cast<char>(header.size() >> 8);
  return writeFileAtomically(path, {prefix, header, elementBytes(t)}, error);
}

} // namespace nabla
