//===- GradcheckCommand.cpp - `nabla gradcheck` ---------------------------===//
//
// Compiles the script in f64, draws params (with their initializers) and
// inputs from the seed, and compares the gradient the adjoint pass computes
// with central finite differences of the loss: at every coordinate of a
// small param, at a seeded sample of a large one, and along one random
// direction of all params at once. The difference quotient uses five points,
//   f'(t) ~ (f(t-2h) - 8 f(t-h) + 8 f(t+h) - f(t+2h)) / 12h,
// whose error is O(h^4) + O(eps/h). Errors are relative:
//   |analytic - numeric| / max(|analytic|, |numeric|, 1e-5 * max(1, |loss|)),
// the floor keeping rounding noise on near-zero components from counting.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "Driver.h"
#include "Executor.h"

#include "ir/Interpreter.h"
#include "support/Random.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <set>

namespace nabla::commands {

namespace {

constexpr double kTolerance = 1e-6;

/// Evaluates the loss of `fn` on `args`.
class LossEvaluator {
public:
  LossEvaluator(const ir::Function &fn, const std::vector<Tensor> &args,
                const ir::SymbolBindings &bindings, driver::Executor &executor)
      : fn_(fn), args_(args), bindings_(bindings), executor_(executor) {
    for (size_t i = 0; i < fn.results.size(); ++i)
      if (fn.results[i].role == ir::ResultRole::Loss)
        lossIndex_ = i;
  }

  std::optional<double> operator()() {
    std::vector<const Tensor *> pointers;
    for (const Tensor &t : args_)
      pointers.push_back(&t);
    auto results = executor_.run(fn_, pointers, bindings_);
    if (!results)
      return std::nullopt;
    return (*results)[lossIndex_].get(0);
  }

private:
  const ir::Function &fn_;
  const std::vector<Tensor> &args_;
  const ir::SymbolBindings &bindings_;
  driver::Executor &executor_;
  size_t lossIndex_ = 0;
};

/// The five-point difference quotient of f along `step`, which moves the
/// point by t * step.
template <typename Move, typename F> std::optional<double> derivative(double h, Move move, F f) {
  double values[4];
  const double offsets[4] = {-2, -1, 1, 2};
  for (int k = 0; k < 4; ++k) {
    move(offsets[k] * h);
    std::optional<double> v = f();
    move(-offsets[k] * h);
    if (!v)
      return std::nullopt;
    values[k] = *v;
  }
  return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h);
}

double relativeError(double analytic, double numeric, double floor) {
  if (!std::isfinite(analytic) || !std::isfinite(numeric))
    return HUGE_VAL;
  return std::fabs(analytic - numeric) / std::max({std::fabs(analytic), std::fabs(numeric), floor});
}

std::string formatError(double e) { return std::isfinite(e) ? fmt::format("{:.3g}", e) : "inf"; }

} // namespace

int gradcheck(const cli::Options &given) {
  cli::Options options = given;
  options.f64 = !driver::isIRFile(options.script);
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  ir::Function *step = driver::functionToRun(c, /*withGradients=*/true);
  if (!step)
    return driver::kUserError;
  ir::Function *forward = driver::functionToRun(c, /*withGradients=*/false);
  // Both compiled as every other command compiles them (not under --interp).
  if (!options.interp && (!driver::runIRPipeline(c, *step, options) ||
                          (forward != step && !driver::runIRPipeline(c, *forward, options))))
    return driver::kUserError;
  for (const auto &arg : step->args)
    if (arg->value.type.dtype == DType::F32) {
      driver::errs() << options.script << ": error: gradcheck needs f64, but " << arg->value.name
                     << " is " << arg->value.type.str() << "; check the .nn script instead\n";
      return driver::kUserError;
    }

  // Symbolic sizes: --size, else 3.
  ir::SymbolBindings bindings;
  if (!driver::bindSizes(*step, options.sizes, 3, bindings))
    return driver::kUsageError;
  std::unique_ptr<driver::Executor> executor = driver::Executor::create(options, c);
  if (!executor)
    return driver::kUserError;

  // Params from their initializers, inputs from normal draws, labels in range.
  std::optional<std::vector<Tensor>> drawn =
      driver::drawArguments(*forward, bindings, options.seed.value_or(0), options.script);
  if (!drawn)
    return driver::kUserError;
  std::vector<Tensor> &args = *drawn;

  std::vector<const Tensor *> pointers;
  for (const Tensor &t : args)
    pointers.push_back(&t);
  auto results = executor->run(*step, pointers, bindings);
  if (!results) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  double loss = 0;
  std::map<std::string, const Tensor *> grads;
  for (size_t i = 0; i < step->results.size(); ++i) {
    const ir::Result &r = step->results[i];
    if (r.role == ir::ResultRole::Loss)
      loss = (*results)[i].get(0);
    else if (r.role == ir::ResultRole::Grad)
      grads[r.name] = &(*results)[i];
  }
  double floor = 1e-5 * std::max(1.0, std::fabs(loss));
  LossEvaluator lossAt(*forward, args, bindings, *executor);

  bool ok = true;
  llvm::raw_ostream &os = llvm::outs();
  os << fmt::format("{:<16} {:>24}  {}\n", "param", "coordinates checked", "worst relative error");
  std::vector<size_t> paramIndices;
  for (size_t p = 0; p < step->args.size(); ++p) {
    const ir::Argument &arg = *step->args[p];
    if (arg.role != ir::ArgRole::Param)
      continue;
    paramIndices.push_back(p);
    Tensor &value = args[p];
    const Tensor &grad = *grads.at(arg.value.name);
    int64_t n = value.numel();
    std::vector<int64_t> coordinates;
    if (n <= options.samples) {
      for (int64_t i = 0; i < n; ++i)
        coordinates.push_back(i);
    } else {
      Random random(options.seed.value_or(0), "coordinates " + arg.value.name);
      std::set<int64_t> chosen;
      while (int64_t(chosen.size()) < options.samples)
        chosen.insert(int64_t(random.below(uint64_t(n))));
      coordinates.assign(chosen.begin(), chosen.end());
    }
    double worst = 0;
    for (int64_t i : coordinates) {
      double *x = value.data<double>() + i;
      double h = 1e-4 * std::max(1.0, std::fabs(*x));
      std::optional<double> numeric = derivative(
          h, [&](double t) { *x += t; }, lossAt);
      if (!numeric) {
        c.diags.flush(driver::errs());
        return driver::kUserError;
      }
      worst = std::max(worst, relativeError(grad.get(i), *numeric, floor));
    }
    ok &= worst <= kTolerance;
    os << fmt::format("{:<16} {:>24}  {}\n", arg.value.name,
                      fmt::format("{} of {}", coordinates.size(), n), formatError(worst));
  }

  // Along one random unit direction d of all params: dL/dt of L(p + t d) = <grad, d>.
  Random random(options.seed.value_or(0), "direction");
  std::vector<Tensor> direction;
  double norm = 0, analytic = 0;
  for (size_t p : paramIndices) {
    Tensor d(DType::F64, args[p].shape());
    for (int64_t i = 0; i < d.numel(); ++i) {
      d.data<double>()[i] = random.normal();
      norm += d.data<double>()[i] * d.data<double>()[i];
    }
    direction.push_back(std::move(d));
  }
  norm = std::sqrt(std::max(norm, 1e-300));
  for (size_t k = 0; k < paramIndices.size(); ++k) {
    const Tensor &grad = *grads.at(step->args[paramIndices[k]]->value.name);
    for (int64_t i = 0; i < direction[k].numel(); ++i) {
      direction[k].data<double>()[i] /= norm;
      analytic += grad.get(i) * direction[k].data<double>()[i];
    }
  }
  if (!paramIndices.empty()) {
    auto move = [&](double t) {
      for (size_t k = 0; k < paramIndices.size(); ++k) {
        double *x = args[paramIndices[k]].data<double>();
        const double *d = direction[k].data<double>();
        for (int64_t i = 0; i < direction[k].numel(); ++i)
          x[i] += t * d[i];
      }
    };
    std::optional<double> numeric = derivative(1e-4, move, lossAt);
    if (!numeric) {
      c.diags.flush(driver::errs());
      return driver::kUserError;
    }
    double error = relativeError(analytic, *numeric, floor);
    ok &= error <= kTolerance;
    os << fmt::format("{:<16} {:>24}  {}\n", "(direction)", "all params", formatError(error));
  }
  os << (ok ? "gradcheck: ok" : "gradcheck: FAILED") << " (tolerance " << formatError(kTolerance)
     << ")\n";
  os.flush();
  return ok ? driver::kSuccess : driver::kUserError;
}

} // namespace nabla::commands
