//===- Module.cpp - The `nabla` Python module -----------------------------===//
//
// Bindings of python/Network.h with pybind11: NumPy arrays in and out,
// errors as exceptions (nabla.CompileError for a script's diagnostics,
// ValueError for bad arrays, names and files), the GIL released while
// compiled code runs. docs/python.md documents every name.
//
//===----------------------------------------------------------------------===//
#include "python/Network.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <cstdint>
#include <limits>

namespace py = pybind11;
using namespace nabla;
using nabla::python::Arrays;
using nabla::python::Failure;
using nabla::python::Network;

namespace {

/// nabla.CompileError, created when the module loads.
PyObject *compileError = nullptr;

[[noreturn]] void raise(const Failure &failure) {
  std::string message = failure.message;
  while (!message.empty() && message.back() == '\n')
    message.pop_back();
  PyObject *type = failure.kind == Failure::Compile   ? compileError
                   : failure.kind == Failure::Missing ? PyExc_FileNotFoundError
                                                      : PyExc_ValueError;
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

[[noreturn]] void valueError(const std::string &message) { raise({Failure::Value, message}); }

/// Runs `call(failure)`, a Network operation that returns an optional,
/// without the GIL; its value, or its failure raised.
template <typename Call> auto withoutGIL(Call call) {
  Failure failure;
  decltype(call(failure)) result;
  {
    py::gil_scoped_release release;
    result = call(failure);
  }
  if (!result)
    raise(failure);
  return std::move(*result);
}

std::vector<int64_t> shapeOf(const py::array &a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

/// The array `object` as a tensor of `dtype`: the array's own memory when
/// it already is one (C order, 64-byte aligned), else a converted copy.
/// Float tensors take float32 or float64 arrays; i32 tensors (labels) any
/// integer array whose values fit. `keep` holds borrowed arrays alive.
Tensor toTensor(py::handle object, DType dtype, const std::string &what,
                std::vector<py::array> &keep) {
  py::array a = py::array::ensure(object);
  if (!a)
    valueError(fmt::format("{} must be a NumPy array (or convertible to one)", what));
  char kind = a.dtype().kind();
  std::vector<int64_t> shape = shapeOf(a);
  if (std::string error; !checkAllocation(dtype, shape, error))
    valueError(fmt::format("{}: {}", what, error));
  if (dtype == DType::I32) {
    if (kind != 'i' && kind != 'u')
      valueError(fmt::format("{} holds class labels: an integer array, not {}", what,
                             std::string(py::str(a.dtype()))));
    auto wide = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    Tensor t(DType::I32, shape);
    const int64_t *in = wide.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (in[i] < std::numeric_limits<int32_t>::min() ||
          in[i] > std::numeric_limits<int32_t>::max())
        valueError(
            fmt::format("{}: the label {} at position {} does not fit in 32 bits", what, in[i], i));
      t.data<int32_t>()[i] = int32_t(in[i]);
    }
    return t;
  }
  if (kind != 'f' || (a.itemsize() != 4 && a.itemsize() != 8))
    valueError(fmt::format("{} must be a float32 or float64 array, not {}", what,
                           std::string(py::str(a.dtype()))));
  bool same = (dtype == DType::F32) == (a.itemsize() == 4);
  bool contiguous = a.flags() & py::array::c_style;
  if (same && contiguous && reinterpret_cast<uintptr_t>(a.data()) % 64 == 0) {
    keep.push_back(a);
    return Tensor::borrow(dtype, shape, const_cast<void *>(a.data()));
  }
  Tensor t(dtype, shape);
  if (dtype == DType::F32) {
    auto c = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    std::copy(c.data(), c.data() + t.numel(), t.data<float>());
  } else {
    auto c = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    std::copy(c.data(), c.data() + t.numel(), t.data<double>());
  }
  return t;
}

/// A NumPy array that owns `t`'s memory (no copy).
py::array toArray(Tensor t) {
  auto *owned = new Tensor(std::move(t));
  py::capsule free(owned, [](void *p) { delete static_cast<Tensor *>(p); });
  py::dtype dtype = owned->dtype() == DType::F32   ? py::dtype::of<float>()
                    : owned->dtype() == DType::F64 ? py::dtype::of<double>()
                                                   : py::dtype::of<int32_t>();
  return py::array(dtype, owned->shape(), owned->raw(), free);
}

/// Keyword arguments as inputs of `net`, in the dtypes of the script.
Arrays inputsOf(const Network &net, const py::kwargs &kwargs, std::vector<py::array> &keep) {
  Arrays inputs;
  for (auto [key, value] : kwargs) {
    std::string name = py::cast<std::string>(key);
    std::optional<DType> dtype = net.inputDType(name);
    if (!dtype)
      valueError(
          fmt::format("the script has no input '{}' (its inputs: {})", name, net.inputNames()));
    inputs.emplace_back(name, toTensor(value, *dtype, fmt::format("input '{}'", name), keep));
  }
  return inputs;
}

/// A dict name -> array for fit's data or test.
Arrays arraysOf(const Network &net, const py::object &dict, const char *what,
                std::vector<py::array> &keep) {
  Arrays arrays;
  if (dict.is_none())
    return arrays;
  if (!py::isinstance<py::dict>(dict))
    valueError(fmt::format("fit: {} must be a dict of input name -> array", what));
  for (auto [key, value] : py::cast<py::dict>(dict)) {
    std::string name = py::cast<std::string>(key);
    std::optional<DType> dtype = net.inputDType(name);
    if (!dtype)
      valueError(fmt::format("fit: {}: the script has no input '{}' (its inputs: {})", what, name,
                             net.inputNames()));
    arrays.emplace_back(name,
                        toTensor(value, *dtype, fmt::format("fit: {} '{}'", what, name), keep));
  }
  return arrays;
}

/// name -> type pairs as a dict, and as "a: f32[B], b: i32[B]".
py::dict typesDict(const std::vector<std::pair<std::string, std::string>> &types) {
  py::dict out;
  for (const auto &[name, type] : types)
    out[py::str(name)] = type;
  return out;
}
std::string typesText(const std::vector<std::pair<std::string, std::string>> &types) {
  std::string text;
  for (const auto &[name, type] : types)
    text += (text.empty() ? "" : ", ") + name + ": " + type;
  return text.empty() ? "none" : text;
}

/// A scalar result as a Python float, any other as an array.
py::object resultObject(Tensor t) {
  if (t.rank() == 0)
    return py::float_(t.get(0));
  return toArray(std::move(t));
}

std::unique_ptr<Network> compileNetwork(const std::string &path, const std::string *text,
                                        const py::object &set, const std::string &dtype,
                                        const py::object &threads, const py::object &cpu) {
  python::NetworkOptions options;
  if (!set.is_none())
    for (auto [key, value] : py::cast<py::dict>(set))
      options.sets.emplace_back(py::cast<std::string>(key), py::cast<double>(value));
  if (dtype != "f32" && dtype != "f64")
    valueError(fmt::format("dtype must be \"f32\" or \"f64\", not \"{}\"", dtype));
  options.f64 = dtype == "f64";
  if (!threads.is_none()) {
    options.threads = py::cast<int>(threads);
    if (options.threads < 1 || options.threads > 1024)
      valueError(fmt::format("threads must be from 1 to 1024, not {}", options.threads));
  }
  if (!cpu.is_none()) {
    options.cpu = py::cast<std::string>(cpu);
    std::string error;
    if (!codegen::targetFor(options.cpu, error))
      valueError("cpu: " + error);
  }
  Failure failure;
  std::unique_ptr<Network> net;
  {
    py::gil_scoped_release release;
    net = Network::compile(path, text, options, failure);
  }
  if (!net)
    raise(failure);
  return net;
}

} // namespace

PYBIND11_MODULE(_nabla, m) {
  m.doc() = "Nabla: neural-network scripts compiled to native training steps (docs/python.md)";
  compileError = PyErr_NewExceptionWithDoc("nabla.CompileError",
                                           "A script with errors; str(e) is the diagnostics.",
                                           PyExc_Exception, nullptr);
  m.attr("CompileError") = py::handle(compileError);

  py::class_<Network>(m, "Network", "A compiled script with its params and optimizer state.")
      .def_property_readonly(
          "inputs", [](const Network &net) { return typesDict(net.inputTypes()); },
          "dict: input name -> its type as the script declares it (\"f32[B, 784]\")")
      .def_property_readonly(
          "outputs", [](const Network &net) { return typesDict(net.outputTypes()); },
          "dict: output name -> its type")
      .def("__repr__",
           [](const Network &net) {
             return fmt::format("<nabla.Network {}: inputs {}; outputs {}>", net.path(),
                                typesText(net.inputTypes()), typesText(net.outputTypes()));
           })
      .def_property_readonly(
          "params",
          [](const Network &net) {
            py::dict out;
            for (const auto &[name, t] : net.params())
              out[py::str(name)] = toArray(t->clone());
            return out;
          },
          "dict: param name -> NumPy array (a copy)")
      .def(
          "init", [](Network &net, uint64_t seed) { net.init(seed); }, py::arg("seed") = 0,
          "Params from their initializers, as `nabla train --seed` draws them.")
      .def(
          "load",
          [](Network &net, const std::string &path) {
            Failure failure;
            if (!net.load(path, failure))
              raise(failure);
          },
          py::arg("path"), "Params (and optimizer state) from a safetensors file.")
      .def(
          "save",
          [](const Network &net, const std::string &path) {
            Failure failure;
            if (!net.save(path, failure))
              raise(failure);
          },
          py::arg("path"), "Writes params and optimizer state atomically (safetensors).")
      .def(
          "set_params",
          [](Network &net, const py::dict &arrays) {
            std::vector<py::array> keep;
            Arrays values;
            std::map<std::string, DType> dtypes;
            for (const auto &[name, t] : net.params())
              dtypes[name] = t->dtype();
            for (auto [key, value] : arrays) {
              std::string name = py::cast<std::string>(key);
              auto it = dtypes.find(name);
              values.emplace_back(name,
                                  toTensor(value, it == dtypes.end() ? DType::F32 : it->second,
                                           fmt::format("param '{}'", name), keep));
            }
            Failure failure;
            if (!net.setParams(std::move(values), failure))
              raise(failure);
          },
          py::arg("params"), "Replaces any subset of the params; shapes and dtypes are checked.")
      .def(
          "predict",
          [](Network &net, const py::kwargs &kwargs) {
            std::vector<py::array> keep;
            Arrays inputs = inputsOf(net, kwargs, keep);
            Arrays results = withoutGIL(
                [&](Failure &failure) { return net.predict(std::move(inputs), failure); });
            py::dict out;
            for (auto &[name, t] : results)
              out[py::str(name)] = toArray(std::move(t));
            return out;
          },
          "The outputs for the inputs given (forward only).")
      .def(
          "eval",
          [](Network &net, const py::kwargs &kwargs) {
            std::vector<py::array> keep;
            Arrays inputs = inputsOf(net, kwargs, keep), grads;
            Arrays results = withoutGIL(
                [&](Failure &failure) { return net.eval(std::move(inputs), grads, failure); });
            py::dict out, gradients;
            for (auto &[name, t] : results)
              out[py::str(name)] = resultObject(std::move(t));
            for (auto &[name, t] : grads)
              gradients[py::str(name)] = toArray(std::move(t));
            out["grads"] = gradients;
            return out;
          },
          "The loss, metrics and outputs, and \"grads\": the gradient of every param.")
      .def(
          "step",
          [](Network &net, const py::kwargs &kwargs) {
            std::vector<py::array> keep;
            Arrays inputs = inputsOf(net, kwargs, keep);
            return withoutGIL(
                [&](Failure &failure) { return net.step(std::move(inputs), failure); });
          },
          "One step of the script's optimizer; returns the batch's loss before it.")
      .def(
          "fit",
          [](Network &net, const py::object &epochs, const py::object &batch,
             const py::object &data, const py::object &test, const py::object &seed,
             bool progress) {
            python::FitOptions options;
            if (!epochs.is_none())
              options.epochs = py::cast<int64_t>(epochs);
            if (!batch.is_none())
              options.batch = py::cast<int64_t>(batch);
            if (!seed.is_none())
              options.seed = py::cast<uint64_t>(seed);
            if ((options.epochs && *options.epochs < 0) || (options.batch && *options.batch < 1))
              valueError("fit: epochs must be at least 0 and batch at least 1");
            options.progress = progress;
            std::vector<py::array> keep;
            options.data = arraysOf(net, data, "data", keep);
            options.test = arraysOf(net, test, "test", keep);
            std::vector<python::EpochMetrics> history =
                withoutGIL([&](Failure &failure) { return net.fit(options, failure); });
            py::list out;
            for (const python::EpochMetrics &epoch : history) {
              py::dict row;
              for (const auto &[name, value] : epoch)
                row[py::str(name)] = name == "epoch" ? py::object(py::int_(int64_t(value)))
                                                     : py::object(py::float_(value));
              out.append(row);
            }
            return out;
          },
          py::arg("epochs") = 3, py::arg("batch") = py::none(), py::arg("data") = py::none(),
          py::arg("test") = py::none(), py::arg("seed") = py::none(), py::arg("progress") = true,
          "Trains as `nabla train` does; returns one dict of metrics per epoch.")
      .def(
          "ir",
          [](Network &net, const std::string &stage) {
            return withoutGIL([&](Failure &failure) { return net.ir(stage, failure); });
          },
          py::arg("stage") = "ir", "A `nabla dump --emit` stage as text.");

  m.def(
      "compile",
      [](const std::string &path, const py::object &set, const std::string &dtype,
         const py::object &threads,
         const py::object &cpu) { return compileNetwork(path, nullptr, set, dtype, threads, cpu); },
      py::arg("path"), py::arg("set") = py::none(), py::arg("dtype") = "f32",
      py::arg("threads") = py::none(), py::arg("cpu") = py::none(),
      "Compiles the script (or .nnir file) at `path`.");
  m.def(
      "compile_source",
      [](const std::string &text, const std::string &name, const py::object &set,
         const std::string &dtype, const py::object &threads,
         const py::object &cpu) { return compileNetwork(name, &text, set, dtype, threads, cpu); },
      py::arg("text"), py::arg("name") = "inline.nn", py::arg("set") = py::none(),
      py::arg("dtype") = "f32", py::arg("threads") = py::none(), py::arg("cpu") = py::none(),
      "Compiles a script given as text; diagnostics name it `name`.");
}
