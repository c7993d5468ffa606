#include "support/SourceManager.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace nabla {

static std::vector<uint32_t> computeLineStarts(std::string_view text) {
  std::vector<uint32_t> starts{0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n')
      starts.push_back(static_cast<uint32_t>(i + 1));
    else if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))
      starts.push_back(static_cast<uint32_t>(i + 1));
  }
  return starts;
}

uint32_t SourceManager::addBuffer(std::string name, std::string text) {
  auto buffer = std::make_unique<Buffer>();
  buffer->name = std::move(name);
  buffer->text = std::move(text);
  buffer->lineStarts = computeLineStarts(buffer->text);
  buffers_.push_back(std::move(buffer));
  return static_cast<uint32_t>(buffers_.size());
}

uint32_t SourceManager::addName(std::string name) {
  if (uint32_t id = findByName(name))
    return id;
  return addBuffer(std::move(name), "");
}

uint32_t SourceManager::findByName(std::string_view name) const {
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i]->name == name)
      return static_cast<uint32_t>(i + 1);
  return 0;
}

uint32_t SourceManager::addFile(const std::string &path, std::string &error) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    error = path + ": is a directory, not a script";
    return 0;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return 0;
  }
  // Read in chunks so that a device or a pipe without a size is bounded too.
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      error = path + ": file is larger than " + std::to_string(kMaxFileBytes >> 20) +
              " MiB; refusing to read it as a script";
      return 0;
    }
  }
  if (in.bad()) {
    error = path + ": read error: " + std::strerror(errno);
    return 0;
  }
  return addBuffer(path, std::move(text));
}

const SourceManager::Buffer *SourceManager::get(uint32_t id) const {
  if (id == 0 || id > buffers_.size())
    return nullptr;
  return buffers_[id - 1].get();
}

const std::string &SourceManager::name(uint32_t id) const {
  static const std::string unknown = "<unknown>";
  const Buffer *b = get(id);
  return b ? b->name : unknown;
}

std::string_view SourceManager::text(uint32_t id) const {
  const Buffer *b = get(id);
  return b ? std::string_view(b->text) : std::string_view();
}

std::string_view SourceManager::lineText(uint32_t id, uint32_t line) const {
  const Buffer *b = get(id);
  if (!b || line == 0 || line > b->lineStarts.size())
    return {};
  size_t start = b->lineStarts[line - 1];
  size_t end = start;
  while (end < b->text.size() && b->text[end] != '\n' && b->text[end] != '\r')
    ++end;
  return std::string_view(b->text).substr(start, end - start);
}

} // namespace nabla
