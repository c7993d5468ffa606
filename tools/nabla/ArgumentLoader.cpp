#include "ArgumentLoader.h"

#include "data/TensorFiles.h"
#include "ir/Labels.h"
#include "ir/Printer.h"

#include <charconv>
#include <set>

namespace nabla::driver {

ArgumentLoader::ArgumentLoader(const ir::Function &fn, DiagnosticEngine &diags)
    : fn_(fn), diags_(diags), values_(fn.args.size()), files_(fn.args.size()) {}

static const char *fileDtype(DType d) {
  return d == DType::F32 ? "float32" : d == DType::F64 ? "float64" : "int32";
}

bool ArgumentLoader::bind(const ir::Argument &arg, const Tensor &t, const std::string &file) {
  const TensorType &type = arg.value.type;
  const std::string what = std::string(ir::roleName(arg.role)) + " '" + arg.value.name + "'";
  if (t.rank() != type.rank()) {
    diags_.fileError(file, "{} is {}, but the file holds an array of shape {}", what, type.str(),
                     t.shapeStr());
    return false;
  }
  for (unsigned d = 0; d < type.rank(); ++d) {
    const Dim &dim = type.shape[d];
    int64_t actual = t.shape()[d];
    if (dim.isConcrete()) {
      if (dim.coefficient() != actual) {
        diags_.fileError(file, "{} is {}, but the file holds an array of shape {}", what,
                         type.str(), t.shapeStr());
        return false;
      }
      continue;
    }
    // Declarations use single symbols; bind or compare.
    const std::string &symbol = dim.symbols()[0];
    auto it = bindings_.find(symbol);
    if (it == bindings_.end()) {
      if (actual < 1) {
        diags_.fileError(file, "{} needs {} >= 1, but dimension {} is {}", what, symbol, d, actual);
        return false;
      }
      bindings_[symbol] = actual;
      boundBy_[symbol] = what + " in " + file;
    } else if (it->second != actual) {
      diags_.fileError(file, "{} has {} = {} (dimension {}), but {} has {} = {}", what, symbol,
                       actual, d, boundBy_[symbol], symbol, it->second);
      return false;
    }
  }
  return true;
}

bool ArgumentLoader::loadParams(const std::string &path) {
  std::string error;
  auto tensors = readSafetensors(path, error);
  if (!tensors) {
    diags_.fileError(path, "{}", error);
    return false;
  }
  return loadArguments(ir::ArgRole::Param, *tensors, path);
}

bool ArgumentLoader::loadArguments(ir::ArgRole role, std::vector<NamedTensor> &tensors,
                                   const std::string &path) {
  bool ok = true;
  for (size_t i = 0; i < fn_.args.size(); ++i) {
    const ir::Argument &arg = *fn_.args[i];
    if (arg.role != role)
      continue;
    const char *what = ir::roleName(role);
    auto found = std::find_if(tensors.begin(), tensors.end(),
                              [&](const NamedTensor &t) { return t.first == arg.value.name; });
    if (found == tensors.end()) {
      diags_.fileError(path, "{} '{}' ({}) is missing", what, arg.value.name, arg.value.type.str());
      ok = false;
      continue;
    }
    if (found->second.dtype() != arg.value.type.dtype) {
      diags_.fileError(path, "{} '{}' is stored as {}, but the script needs {} ({})", what,
                       arg.value.name, fileDtype(found->second.dtype()),
                       fileDtype(arg.value.type.dtype), arg.value.type.str());
      ok = false;
      continue;
    }
    if (!bind(arg, found->second, path)) {
      ok = false;
      continue;
    }
    values_[i] = std::move(found->second);
    files_[i] = path;
  }
  return ok;
}

std::map<std::string, Tensor> ArgumentLoader::take(ir::ArgRole role) {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < fn_.args.size(); ++i)
    if (fn_.args[i]->role == role && values_[i])
      out.emplace(fn_.args[i]->value.name, std::move(*values_[i]));
  return out;
}

bool ArgumentLoader::loadFeeds(const std::vector<cli::NamedPath> &feeds) {
  bool ok = true;
  std::set<std::string> fed;
  for (const auto &[name, path] : feeds) {
    ir::Argument *arg = fn_.findArgument(ir::ArgRole::Input, name);
    if (!arg) {
      std::string inputs;
      for (ir::Argument *a : fn_.arguments(ir::ArgRole::Input))
        inputs += (inputs.empty() ? "" : ", ") + a->value.name;
      diags_.fileError(path, "--feed {}: the script has no input '{}' (its inputs: {})", name, name,
                       inputs.empty() ? "none" : inputs);
      ok = false;
      continue;
    }
    if (!fed.insert(name).second) {
      diags_.fileError(path, "--feed {}: input '{}' is fed twice", name, name);
      ok = false;
      continue;
    }
    std::string error;
    std::optional<Tensor> t = readTensorFile(path, error);
    if (!t) {
      diags_.fileError(path, "{}", error);
      ok = false;
      continue;
    }
    DType want = arg->value.type.dtype;
    if (want == DType::I32 && t->dtype() != DType::I32) {
      diags_.fileError(path, "input '{}' holds i32 class labels ({}), but the file has {} data",
                       name, arg->value.type.str(), fileDtype(t->dtype()));
      ok = false;
      continue;
    }
    if (t->dtype() != want)
      t = t->convertedTo(want);
    if (!bind(*arg, *t, path)) {
      ok = false;
      continue;
    }
    size_t index = std::find_if(fn_.args.begin(), fn_.args.end(),
                                [&](const auto &a) { return a.get() == arg; }) -
                   fn_.args.begin();
    values_[index] = std::move(*t);
    files_[index] = path;
  }
  for (size_t i = 0; i < fn_.args.size(); ++i) {
    const ir::Argument &arg = *fn_.args[i];
    if (arg.role == ir::ArgRole::Input && !values_[i] && ok) {
      diags_.error(arg.loc, "input '{}' ({}) is not fed; give it with --feed {}=FILE",
                   arg.value.name, arg.value.type.str(), arg.value.name);
      ok = false;
    }
  }
  return ok;
}

bool ArgumentLoader::checkLabels() {
  for (size_t i = 0; i < fn_.args.size(); ++i) {
    const ir::Value &labels = fn_.args[i]->value;
    int64_t classes = ir::classCount(fn_, &labels, bindings_);
    if (!classes || !values_[i])
      continue;
    const Tensor &t = *values_[i];
    for (int64_t k = 0; k < t.numel(); ++k) {
      int32_t v = t.data<int32_t>()[k];
      if (v < 0 || v >= classes) {
        diags_.fileError(files_[i],
                         "label {} at position {} of input '{}' is outside [0, {}): "
                         "the script has {} classes",
                         v, k, labels.name, classes, classes);
        return false;
      }
    }
  }
  return true;
}

std::vector<const Tensor *> ArgumentLoader::arguments() const {
  std::vector<const Tensor *> out;
  for (const auto &v : values_)
    out.push_back(v ? &*v : nullptr);
  return out;
}

std::string formatScalar(const Tensor &t) {
  char buffer[64];
  std::to_chars_result r;
  switch (t.dtype()) {
  case DType::F32: {
    float v = t.data<float>()[0];
    if (!std::isfinite(v))
      return ir::formatNumber(v);
    r = std::to_chars(buffer, buffer + sizeof(buffer), v);
    break;
  }
  case DType::F64: return ir::formatNumber(t.data<double>()[0]);
  case DType::I32: r = std::to_chars(buffer, buffer + sizeof(buffer), t.data<int32_t>()[0]); break;
  }
  return std::string(buffer, r.ptr);
}

} // namespace nabla::driver
