#include "training/LevenbergMarquardt.h"

#include "passes/Jacobian.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace nabla {

using ir::ArgRole;
using ir::ResultRole;

namespace {

/// mu stays within these bounds (f32 state holds them).
constexpr double kMinMu = 1e-30, kMaxMu = 1e30;

/// Copies `src` into `dst`, converting the dtype when they differ.
void copyInto(Tensor &dst, const Tensor &src) {
  if (dst.dtype() == src.dtype()) {
    std::memcpy(dst.raw(), src.raw(), src.byteSize());
    return;
  }
  for (int64_t i = 0; i < src.numel(); ++i)
    dst.set(i, src.get(i));
}

/// The index of `fn`'s result of `role` (and `name`, when given).
size_t resultIndex(const ir::Function &fn, ResultRole role, const std::string &name = "") {
  for (size_t i = 0; i < fn.results.size(); ++i)
    if (fn.results[i].role == role && (name.empty() || fn.results[i].name == name))
      return i;
  return fn.results.size();
}

} // namespace

LevenbergMarquardt::LevenbergMarquardt(const ir::Function &forward, const ir::Function &rows,
                                       const ir::Function &update, const OptimizerConfig &config,
                                       codegen::Compiler &compiler, const SourceManager &sources,
                                       DiagnosticEngine &diags)
    : forward_(forward), rows_(rows), update_(update), config_(config), compiler_(compiler),
      sources_(sources), diags_(diags) {}

codegen::CompiledStep *LevenbergMarquardt::compiled(const ir::Function &fn, int64_t n,
                                                    const ir::SymbolBindings &bindings) {
  auto key = std::make_pair(&fn, n);
  auto it = steps_.find(key);
  if (it != steps_.end())
    return it->second;
  return steps_[key] = compiler_.compile(fn, bindings, sources_, diags_);
}

std::vector<const Tensor *>
LevenbergMarquardt::argumentsOf(const ir::Function &fn,
                                const std::vector<const Tensor *> &updateArgs,
                                const std::map<std::string, const Tensor *> *params) {
  std::vector<const Tensor *> out;
  for (const auto &arg : fn.args) {
    const Tensor *t = nullptr;
    if (arg->role == ArgRole::Param && params)
      t = params->at(arg->value.name);
    else if (const ir::Argument *same = update_.findArgument(arg->role, arg->value.name))
      t = updateArgs[size_t(std::find_if(update_.args.begin(), update_.args.end(),
                                         [&](const auto &a) { return a.get() == same; }) -
                            update_.args.begin())];
    out.push_back(t);
  }
  return out;
}

bool LevenbergMarquardt::step(int64_t n, const ir::SymbolBindings &bindings,
                              const std::vector<const Tensor *> &args,
                              const std::vector<Tensor *> &results) {
  // The params (in declaration order) and mu the step starts from.
  std::vector<std::pair<std::string, const Tensor *>> params;
  double mu = 0;
  for (size_t i = 0; i < update_.args.size(); ++i) {
    const ir::Argument &arg = *update_.args[i];
    if (arg.role == ArgRole::Param)
      params.emplace_back(arg.value.name, args[i]);
    else if (arg.role == ArgRole::State && arg.value.name == "mu")
      mu = args[i]->get(0);
  }
  if (!(mu > 0))
    mu = config_.mu;
  codegen::CompiledStep *forward = compiled(forward_, n, bindings);
  codegen::CompiledStep *rows = compiled(rows_, n, bindings);
  if (!forward || !rows)
    return false;

  // The loss, the metrics and r at p.
  std::optional<std::vector<Tensor>> start =
      forward->run(argumentsOf(forward_, args, nullptr), diags_);
  if (!start)
    return false;
  size_t lossAt = resultIndex(forward_, ResultRole::Loss);
  const Tensor &r = (*start)[resultIndex(forward_, ResultRole::Residual)];
  double loss = (*start)[lossAt].get(0);
  int64_t residuals = r.numel(), size = 0;
  for (const auto &[name, p] : params)
    size += p->numel();
  if (double(residuals) * double(size) * 8 > double(kMaxLmJacobianBytes)) {
    diags_.error(config_.loc,
                 "lm: the Jacobian of a batch is {} residuals x {} params, more than {} MiB; "
                 "use a smaller batch",
                 residuals, size, kMaxLmJacobianBytes >> 20);
    return false;
  }

  // J row by row: u = e_i gives row i (passes/Jacobian.h).
  Eigen::MatrixXd jacobian(residuals, size);
  Eigen::VectorXd residual(residuals);
  Tensor seed(r.dtype(), r.shape());
  std::vector<const Tensor *> rowArgs = argumentsOf(rows_, args, nullptr);
  for (size_t i = 0; i < rows_.args.size(); ++i)
    if (rows_.args[i]->role == ArgRole::Input && rows_.args[i]->value.name == passes::kResidualSeed)
      rowArgs[i] = &seed;
  for (int64_t i = 0; i < residuals; ++i) {
    residual[i] = r.get(i);
    seed.set(i, 1);
    std::optional<std::vector<Tensor>> row = rows->run(rowArgs, diags_);
    seed.set(i, 0);
    if (!row)
      return false;
    int64_t column = 0;
    for (const auto &[name, p] : params) {
      const Tensor &block = (*row)[resultIndex(rows_, ResultRole::Grad, name)];
      for (int64_t k = 0; k < block.numel(); ++k)
        jacobian(i, column++) = block.get(k);
    }
  }
  Eigen::MatrixXd normal = jacobian.transpose() * jacobian;
  Eigen::VectorXd gradient = jacobian.transpose() * residual;

  // Damped steps until one lowers the batch's loss.
  std::map<std::string, Tensor> candidate;
  std::map<std::string, const Tensor *> candidatePointers;
  for (const auto &[name, p] : params) {
    candidate[name] = p->clone();
    candidatePointers[name] = &candidate[name];
  }
  std::vector<const Tensor *> tryArgs = argumentsOf(forward_, args, &candidatePointers);
  bool accepted = false;
  for (int t = 0; t < kLmTries && !accepted; ++t) {
    Eigen::MatrixXd damped = normal;
    damped.diagonal().array() += mu;
    Eigen::VectorXd d = damped.ldlt().solve(gradient);
    int64_t offset = 0;
    for (const auto &[name, p] : params) {
      Tensor &c = candidate[name];
      for (int64_t k = 0; k < c.numel(); ++k)
        c.set(k, p->get(k) - d[offset++]);
    }
    std::optional<std::vector<Tensor>> tried = forward->run(tryArgs, diags_);
    if (!tried)
      return false;
    double tryLoss = (*tried)[lossAt].get(0);
    accepted = std::isfinite(tryLoss) && tryLoss < loss;
    mu = accepted ? std::max(mu / config_.factor, kMinMu) : std::min(mu * config_.factor, kMaxMu);
  }

  // The loss and metrics of the batch at the starting params, then the new
  // params and mu, in the update's order.
  for (size_t i = 0; i < update_.results.size(); ++i) {
    const ir::Result &res = update_.results[i];
    switch (res.role) {
    case ResultRole::Loss:
    case ResultRole::Metric:
      copyInto(*results[i], (*start)[resultIndex(forward_, res.role, res.name)]);
      break;
    case ResultRole::Update: {
      const Tensor *from = accepted ? &candidate.at(res.name) : nullptr;
      if (!from)
        for (const auto &[name, p] : params)
          if (name == res.name)
            from = p;
      copyInto(*results[i], *from);
      break;
    }
    case ResultRole::State: results[i]->set(0, mu); break;
    case ResultRole::Output:
    case ResultRole::Grad:
    case ResultRole::Residual: break;
    }
  }
  return true;
}

} // namespace nabla
