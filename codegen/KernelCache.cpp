#include "codegen/KernelCache.h"

#include "support/FileIO.h"
#include "support/Hash.h"

#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>

#include <cstdlib>
#include <cstring>

namespace nabla::codegen {

namespace {

constexpr char kMagic[8] = {'N', 'A', 'B', 'L', 'A', 'K', 'C', '1'};

void putU64(std::string &out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out += char((v >> (8 * i)) & 0xFF);
}

/// Reads a little-endian u64 at `at`, advancing it; false past the end.
bool getU64(std::string_view data, size_t &at, uint64_t &v) {
  if (data.size() - at < 8)
    return false;
  v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t(static_cast<unsigned char>(data[at + size_t(i)])) << (8 * i);
  at += 8;
  return true;
}

} // namespace

KernelCache KernelCache::fromEnvironment() {
  const char *env = std::getenv("NABLA_CACHE_DIR");
  if (env && *env)
    return KernelCache(std::string(env) == "off" ? "" : env);
  llvm::SmallString<256> dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    dir = xdg;
  else if (!llvm::sys::path::cache_directory(dir))
    return KernelCache("");
  llvm::sys::path::append(dir, "nabla", "kernels");
  return KernelCache(dir.str().str());
}

std::string KernelCache::hash(const std::string &text) {
  return fmt::format("{:016x}", fnv1a(text));
}

std::string KernelCache::path(const std::string &key) const {
  llvm::SmallString<256> p(folder_);
  llvm::sys::path::append(p, hash(key) + ".nkc");
  return p.str().str();
}

std::optional<std::vector<std::string>> KernelCache::load(const std::string &key) const {
  if (!enabled())
    return std::nullopt;
  auto file = llvm::MemoryBuffer::getFile(path(key), /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return std::nullopt;
  std::string_view data((*file)->getBufferStart(), (*file)->getBufferSize());
  // The checksum covers everything before it.
  if (data.size() < sizeof(kMagic) + 8 || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0)
    return std::nullopt;
  size_t end = data.size() - 8, at = end;
  uint64_t checksum;
  if (!getU64(data, at, checksum) || checksum != fnv1a(data.substr(0, end)))
    return std::nullopt;
  data = data.substr(0, end);
  at = sizeof(kMagic);
  uint64_t keyLength, count;
  if (!getU64(data, at, keyLength) || keyLength > data.size() - at ||
      data.substr(at, keyLength) != key)
    return std::nullopt;
  at += keyLength;
  if (!getU64(data, at, count) || count > 1024)
    return std::nullopt;
  std::vector<std::string> objects;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t length;
    if (!getU64(data, at, length) || length > data.size() - at)
      return std::nullopt;
    objects.emplace_back(data.substr(at, length));
    at += length;
  }
  if (at != data.size())
    return std::nullopt;
  return objects;
}

bool KernelCache::store(const std::string &key, const std::vector<std::string> &objects) const {
  if (!enabled() || llvm::sys::fs::create_directories(folder_))
    return false;
  std::string out(kMagic, sizeof(kMagic));
  putU64(out, key.size());
  out += key;
  putU64(out, objects.size());
  for (const std::string &o : objects) {
    putU64(out, o.size());
    out += o;
  }
  putU64(out, fnv1a(out));
  std::string error;
  return writeFileAtomically(path(key), {out}, error);
}

} // namespace nabla::codegen
