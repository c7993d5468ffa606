#include "training/Checkpoint.h"
#include "data/TensorFiles.h"

#include <charconv>

namespace nabla {

namespace {
constexpr const char *kStatePrefix = "optimizer.";
}

bool saveCheckpoint(const std::string &path, const NamedTensors &params, const NamedTensors &state,
                    int64_t epochs, const std::string &optimizer, std::string &error) {
  std::vector<std::pair<std::string, const Tensor *>> all = params;
  for (const auto &[name, t] : state)
    all.emplace_back(kStatePrefix + name, t);
  Metadata metadata = {
      {"format", "nabla checkpoint"}, {"epochs", std::to_string(epochs)}, {"optimizer", optimizer}};
  return writeSafetensors(path, all, error, metadata);
}

std::optional<Checkpoint> loadCheckpoint(const std::string &path, std::string &error) {
  Metadata metadata;
  auto tensors = readSafetensors(path, error, &metadata);
  if (!tensors)
    return std::nullopt;
  Checkpoint c;
  for (auto &[name, t] : *tensors) {
    if (name.rfind(kStatePrefix, 0) == 0)
      c.state.emplace_back(name.substr(std::char_traits<char>::length(kStatePrefix)), std::move(t));
    else
      c.params.emplace_back(name, std::move(t));
  }
  if (metadata["format"] == "nabla checkpoint") {
    const std::string &e = metadata["epochs"];
    std::from_chars(e.data(), e.data() + e.size(), c.epochs);
    c.optimizer = metadata["optimizer"];
  }
  return c;
}

} // namespace nabla
