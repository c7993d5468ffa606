#include "data/Gzip.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

namespace nabla {

bool isGzip(std::string_view bytes) {
  return bytes.size() >= 2 && uint8_t(bytes[0]) == 0x1f && uint8_t(bytes[1]) == 0x8b;
}

std::optional<std::string> gunzip(std::string_view bytes, uint64_t limit, std::string &error) {
  z_stream zs{};
  // 15 + 16: a gzip wrapper, the largest window.
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {
    error = "cannot start zlib";
    return std::nullopt;
  }
  std::string out;
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
  size_t inputLeft = bytes.size();
  constexpr size_t kChunk = size_t(1) << 20;
  int status = Z_OK;
  while (true) {
    if (zs.avail_in == 0 && inputLeft) {
      zs.avail_in = uInt(std::min<size_t>(inputLeft, 1u << 30));
      inputLeft -= zs.avail_in;
    }
    if (out.size() >= limit) {
      error = fmt::format("decompresses to more than {} bytes, the memory limit", limit);
      break;
    }
    size_t before = out.size();
    size_t room = size_t(std::min<uint64_t>(kChunk, limit - out.size()));
    out.resize(before + room);
    zs.next_out = reinterpret_cast<Bytef *>(out.data() + before);
    zs.avail_out = uInt(room);
    status = inflate(&zs, Z_NO_FLUSH);
    out.resize(before + (room - zs.avail_out));
    if (status == Z_STREAM_END) {
      // Another gzip member may follow.
      if (zs.avail_in == 0 && inputLeft == 0) {
        inflateEnd(&zs);
        return out;
      }
      if (inflateReset(&zs) != Z_OK)
        break;
      continue;
    }
    if (status == Z_BUF_ERROR && zs.avail_in == 0 && inputLeft == 0) {
      error = fmt::format("the gzip data is truncated after {} compressed bytes", bytes.size());
      break;
    }
    if (status != Z_OK && status != Z_BUF_ERROR) {
      error = fmt::format("corrupt gzip data at compressed byte {}: {}",
                          bytes.size() - inputLeft - zs.avail_in, zs.msg ? zs.msg : "error");
      break;
    }
  }
  inflateEnd(&zs);
  return std::nullopt;
}

} // namespace nabla
