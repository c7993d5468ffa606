#include "training/DataParallelStep.h"
#include "passes/OptimizerUpdate.h"

#include <chrono>
#include <cstring>

namespace nabla {

using ir::ArgRole;
using ir::ResultRole;

DataParallelStep::DataParallelStep(const ir::Function &update, const ir::Function &gradients,
                                   const ir::Function &apply, codegen::Compiler &compiler,
                                   const SourceManager &sources, DiagnosticEngine &diags,
                                   Communicator &world)
    : update_(update), gradients_(gradients), apply_(apply), compiler_(compiler), sources_(sources),
      diags_(diags), world_(world) {
  for (const ir::Argument *a : update.arguments(ArgRole::Input))
    if (!a->value.type.shape.empty() && !a->value.type.shape[0].isConcrete())
      batchSymbol_ = a->value.type.shape[0].symbols()[0];
  for (const ir::Result &r : gradients.results)
    gradientResults_.emplace_back(r.value->type.dtype, std::vector<int64_t>{});
  for (const ir::Argument *p : update.arguments(ArgRole::Param))
    grads_.emplace(p->value.name, Tensor());
}

void DataParallelStep::takeRows(int64_t begin, int64_t count,
                                const std::vector<const Tensor *> &args) {
  for (size_t i = 0; i < update_.args.size(); ++i) {
    if (update_.args[i]->role != ArgRole::Input)
      continue;
    const Tensor &all = *args[i];
    std::vector<int64_t> shape = all.shape();
    int64_t rowBytes = all.shape()[0] ? int64_t(all.byteSize()) / all.shape()[0] : 0;
    shape[0] = count;
    Tensor &mine = rows_[update_.args[i]->value.name];
    if (mine.empty() || mine.shape() != shape)
      mine = Tensor(all.dtype(), shape);
    std::memcpy(mine.raw(), static_cast<const char *>(all.raw()) + begin * rowBytes,
                size_t(count * rowBytes));
  }
}

bool DataParallelStep::run(const ir::Function &fn, const ir::SymbolBindings &bindings,
                           const std::map<std::string, const Tensor *> &byName,
                           const std::vector<Tensor *> &results) {
  std::vector<const Tensor *> args;
  for (const auto &arg : fn.args)
    args.push_back(byName.at(arg->value.name));
  codegen::CompiledStep *step = compiler_.compile(fn, bindings, sources_, diags_);
  return step && step->runInto(args, results, diags_);
}

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Multiplies the `count` values at `data` by `scale`.
template <typename T> void scaleValues(T *data, int64_t count, double scale) {
  T s = T(scale);
  for (int64_t i = 0; i < count; ++i)
    data[i] *= s;
}

} // namespace

void DataParallelStep::layOutBuffer(const std::map<std::string, const Tensor *> &byName) {
  // Each gradient at a multiple of 64 bytes (the kernels' alignment), then
  // one value per scalar result.
  DType dtype = DType::F32;
  int64_t at = 0;
  std::vector<std::pair<std::string, int64_t>> offsets;
  for (const ir::Result &r : gradients_.results)
    if (r.role == ResultRole::Grad) {
      const Tensor &param = *byName.at(r.name);
      dtype = param.dtype();
      int64_t perLine = 64 / int64_t(dtypeSize(dtype));
      at = (at + perLine - 1) / perLine * perLine;
      offsets.emplace_back(r.name, at);
      at += param.numel();
    }
  scalarsAt_ = at;
  buffer_ = Tensor(dtype, {at + int64_t(gradients_.results.size())});
  for (const auto &[name, offset] : offsets) {
    const Tensor &param = *byName.at(name);
    grads_[name] = Tensor::borrow(dtype, param.shape(),
                                  static_cast<char *>(buffer_.raw()) + offset * dtypeSize(dtype));
  }
}

bool DataParallelStep::operator()(int64_t n, const ir::SymbolBindings &bindings,
                                  const std::vector<const Tensor *> &args,
                                  const std::vector<Tensor *> &results) {
  auto start = std::chrono::steady_clock::now();
  ++steps_;
  int64_t ranks = world_.size(), rank = world_.rank();
  int64_t begin = rank * n / ranks, end = (rank + 1) * n / ranks, count = end - begin;

  std::map<std::string, const Tensor *> byName;
  for (size_t i = 0; i < update_.args.size(); ++i)
    byName[update_.args[i]->value.name] = args[i];
  if (buffer_.empty())
    layOutBuffer(byName);
  // 1. This rank's loss, metrics and gradients, the gradients straight into
  //    the buffer (zeros without rows).
  if (count > 0) {
    if (count < n) { // one rank alone reads the batch in place
      takeRows(begin, count, args);
      for (auto &[name, t] : rows_)
        byName[name] = &t;
    }
    ir::SymbolBindings local = bindings;
    if (!batchSymbol_.empty())
      local[batchSymbol_] = count;
    std::vector<Tensor *> out;
    for (size_t i = 0; i < gradients_.results.size(); ++i) {
      const ir::Result &r = gradients_.results[i];
      out.push_back(r.role == ResultRole::Grad ? &grads_.at(r.name) : &gradientResults_[i]);
    }
    if (!run(gradients_, local, byName, out))
      return false;
  } else {
    std::memset(buffer_.raw(), 0, buffer_.byteSize());
    for (Tensor &t : gradientResults_)
      t.set(0, 0);
  }
  // 2. Scaled to the global batch and summed over the ranks: the gradients,
  //    then the loss and the metrics, in one buffer and one allreduce.
  for (size_t i = 0; i < gradients_.results.size(); ++i)
    buffer_.set(scalarsAt_ + int64_t(i), gradientResults_[i].get(0));
  double scale = double(count) / double(n);
  bool f64 = buffer_.dtype() == DType::F64;
  if (scale != 1) {
    if (f64)
      scaleValues(buffer_.data<double>(), buffer_.numel(), scale);
    else
      scaleValues(buffer_.data<float>(), buffer_.numel(), scale);
  }
  auto reduceStart = std::chrono::steady_clock::now();
  if (f64)
    world_.sum(buffer_.data<double>(), buffer_.numel());
  else
    world_.sum(buffer_.data<float>(), buffer_.numel());
  allreduceSeconds_ += secondsSince(reduceStart);
  for (size_t i = 0; i < gradients_.results.size(); ++i)
    gradientResults_[i].set(0, buffer_.get(scalarsAt_ + int64_t(i)));
  // The reduced loss and metrics are the update's.
  for (size_t i = 0; i < update_.results.size(); ++i) {
    const ir::Result &r = update_.results[i];
    if (r.role != ResultRole::Loss && r.role != ResultRole::Metric)
      continue;
    for (size_t k = 0; k < gradients_.results.size(); ++k)
      if (gradients_.results[k].role == r.role && gradients_.results[k].name == r.name)
        results[i]->set(0, gradientResults_[k].get(0));
  }
  // 3. The same update on every rank.
  for (auto &[name, g] : grads_)
    byName[passes::kGradInputPrefix + name] = &g;
  std::vector<Tensor *> out;
  for (const ir::Result &r : apply_.results) {
    Tensor *target = nullptr;
    for (size_t i = 0; i < update_.results.size(); ++i)
      if (update_.results[i].role == r.role && update_.results[i].name == r.name &&
          r.role != ResultRole::Loss)
        target = results[i];
    if (!target) {
      zeroLoss_ = Tensor(r.value->type.dtype, {});
      target = &zeroLoss_;
    }
    out.push_back(target);
  }
  bool ok = run(apply_, {}, byName, out); // no symbolic sizes: one compile
  stepSeconds_ += secondsSince(start);
  return ok;
}

} // namespace nabla
