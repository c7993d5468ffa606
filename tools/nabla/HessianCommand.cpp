//===- HessianCommand.cpp - `nabla hessian` -------------------------------===//
//
// The Hessian of the loss with respect to every param, at the params and data
// given (as for eval): the function passes::addHessianVectorProduct builds
// (reverse over reverse) runs once per column, H e_i, on the JIT or the
// interpreter, and the columns fill an n x n tensor "hessian" (params in
// declaration order, row-major within each). With --hvp V it runs once on
// the directions of V and writes H v, one tensor per param. n is bounded by
// kMaxHessianParams (docs/cli.md).
//
//===----------------------------------------------------------------------===//
#include "ArgumentLoader.h"
#include "Commands.h"
#include "Driver.h"
#include "Executor.h"

#include "data/TensorFiles.h"
#include "ir/Verifier.h"
#include "passes/SecondOrder.h"

#include <llvm/Support/raw_ostream.h>

#include <cstring>

namespace nabla::commands {

namespace {

/// The most param elements whose full Hessian `nabla hessian` forms: 4096²
/// f64 entries are 128 MiB, and the columns take 4096 product runs.
constexpr int64_t kMaxHessianParams = 4096;

/// One direction per param, from the safetensors file `path`: each tensor
/// named after its param, of its shape (any float dtype, converted).
std::optional<std::vector<Tensor>> readDirections(const std::string &path,
                                                  const std::vector<ir::Argument *> &params,
                                                  const std::vector<const Tensor *> &values) {
  std::string error;
  std::optional<std::vector<NamedTensor>> file = readSafetensors(path, error);
  if (!file) {
    driver::errs() << path << ": error: " << error << "\n";
    return std::nullopt;
  }
  std::vector<Tensor> directions;
  bool ok = true;
  for (size_t p = 0; p < params.size(); ++p) {
    const std::string &name = params[p]->value.name;
    auto found = std::find_if(file->begin(), file->end(),
                              [&](const NamedTensor &t) { return t.first == name; });
    const Tensor &param = *values[p];
    if (found == file->end()) {
      driver::errs() << path << ": error: no direction for param '" << name << "' ("
                     << param.shapeStr() << ")\n";
      ok = false;
      continue;
    }
    if (!isFloat(found->second.dtype()) || found->second.shape() != param.shape()) {
      driver::errs() << path << ": error: the direction '" << name << "' is "
                     << dtypeName(found->second.dtype()) << found->second.shapeStr()
                     << ", but param '" << name << "' is " << dtypeName(param.dtype())
                     << param.shapeStr() << "\n";
      ok = false;
      continue;
    }
    directions.push_back(found->second.convertedTo(param.dtype()));
  }
  if (!ok)
    return std::nullopt;
  return directions;
}

} // namespace

int hessian(const cli::Options &options) {
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  ir::Function *step = driver::functionToRun(c, /*withGradients=*/true);
  if (!step)
    return driver::kUserError;
  ir::Function *product =
      passes::addHessianVectorProduct(*c.ir, *step, "hessian_vector_product", c.diags);
  if (!product || !ir::verify(*product, c.diags, "the Hessian-vector product") ||
      (!options.interp && !driver::runIRPipeline(c, *product, options))) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }

  // The step's arguments (the script's) lead the product's; then the directions.
  std::vector<ir::Argument *> params = step->arguments(ir::ArgRole::Param);
  driver::ArgumentLoader loader(*step, c.diags);
  if (!driver::loadFromFiles(options, c, loader, options.feeds, exitCode))
    return exitCode;
  std::vector<const Tensor *> args = loader.arguments();
  std::vector<const Tensor *> paramValues;
  for (size_t i = 0; i < step->args.size(); ++i)
    if (step->args[i]->role == ir::ArgRole::Param)
      paramValues.push_back(args[i]);

  std::vector<Tensor> directions;
  int64_t n = 0;
  for (const Tensor *p : paramValues)
    n += p->numel();
  if (!options.hvp.empty()) {
    std::optional<std::vector<Tensor>> read = readDirections(options.hvp, params, paramValues);
    if (!read)
      return driver::kUserError;
    directions = std::move(*read);
  } else {
    if (n > kMaxHessianParams) {
      driver::errs() << options.script << ": error: the script has " << n
                     << " param elements, and nabla hessian forms the Hessian for at most "
                     << kMaxHessianParams << " (" << n << " x " << n
                     << " entries); use --hvp V for Hessian-vector products\n";
      return driver::kUserError;
    }
    for (const Tensor *p : paramValues)
      directions.emplace_back(p->dtype(), p->shape());
  }
  for (const Tensor &d : directions)
    args.push_back(&d);

  std::unique_ptr<driver::Executor> executor = driver::Executor::create(options, c);
  if (!executor)
    return driver::kUserError;
  auto run = [&]() {
    std::optional<std::vector<Tensor>> results = executor->run(*product, args, loader.bindings());
    if (!results)
      c.diags.flush(driver::errs());
    return results;
  };

  std::string error;
  if (!options.hvp.empty()) {
    std::optional<std::vector<Tensor>> results = run();
    if (!results)
      return driver::kUserError;
    std::vector<std::pair<std::string, const Tensor *>> written;
    for (size_t p = 0; p < params.size(); ++p)
      written.emplace_back(params[p]->value.name, &(*results)[p]);
    if (!writeSafetensors(options.out, written, error)) {
      driver::errs() << options.out << ": error: " << error << "\n";
      return driver::kUserError;
    }
    return driver::kSuccess;
  }

  // Column j of H is H e_j: a 1 at element j of the directions, laid end to end.
  DType dtype = paramValues.empty() ? DType::F32 : paramValues[0]->dtype();
  Tensor matrix(dtype, {n, n});
  int64_t column = 0;
  for (Tensor &direction : directions) {
    for (int64_t e = 0; e < direction.numel(); ++e, ++column) {
      direction.set(e, 1);
      std::optional<std::vector<Tensor>> results = run();
      direction.set(e, 0);
      if (!results)
        return driver::kUserError;
      int64_t row = 0;
      for (const Tensor &block : *results)
        for (int64_t i = 0; i < block.numel(); ++i, ++row)
          matrix.set(row * n + column, block.get(i));
    }
  }
  if (!writeSafetensors(options.out, {{"hessian", &matrix}}, error)) {
    driver::errs() << options.out << ": error: " << error << "\n";
    return driver::kUserError;
  }
  return driver::kSuccess;
}

} // namespace nabla::commands
