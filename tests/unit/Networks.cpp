#include "Networks.h"

#include "frontend/Lower.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Parser.h"
#include "passes/Adjoint.h"
#include "runtime/ThreadPool.h"
#include "support/Random.h"
#include "training/Initializers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace nabla {

std::vector<std::filesystem::path> networkScripts() {
  std::vector<std::filesystem::path> out;
  for (const char *dir : {"/tests/lit/grad", "/examples"})
    for (const auto &e : std::filesystem::directory_iterator(std::string(NABLA_SOURCE_DIR) + dir))
      if (e.path().extension() == ".nn")
        out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Network> loadNetwork(const std::filesystem::path &script, bool f64) {
  auto net = std::make_unique<Network>();
  std::ifstream in(script);
  std::stringstream text;
  text << in.rdbuf();
  auto ast = parseModule(
      net->sources, net->sources.addBuffer(script.filename().string(), text.str()), net->diags);
  SemaOptions options;
  options.forceF64 = f64;
  auto program = analyze(*ast, net->sources, net->diags, options);
  EXPECT_FALSE(net->diags.hasErrors()) << script;
  if (net->diags.hasErrors())
    return nullptr;
  net->module = ir::lower(*program, net->diags);
  net->step = passes::differentiate(*net->module, *net->module->lookup(ir::kForwardFunction),
                                    ir::kTrainStepFunction, net->diags);
  EXPECT_TRUE(net->step) << script;
  if (!net->step)
    return nullptr;
  for (const auto &arg : net->step->args)
    for (const Dim &d : arg->value.type.shape)
      for (const std::string &s : d.symbols())
        net->bindings[s] = 5;
  return net;
}

std::vector<Tensor> networkArguments(const ir::Function &fn, const ir::SymbolBindings &bindings) {
  std::vector<Tensor> args;
  for (const auto &arg : fn.args) {
    std::vector<int64_t> shape = *ir::concreteShape(arg->value.type.shape, bindings);
    if (arg->role == ir::ArgRole::Param) {
      args.push_back(initialize(arg->init, arg->value.type.dtype, shape, 1, arg->value.name));
      continue;
    }
    Tensor t(arg->value.type.dtype, shape);
    Random r(3, arg->value.name);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, t.dtype() == DType::I32 ? double(r.below(2)) : r.normal());
    args.push_back(std::move(t));
  }
  return args;
}

void expectClose(const Tensor &actual, const Tensor &expected, double rtol,
                 const std::string &what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  ASSERT_EQ(actual.dtype(), expected.dtype()) << what;
  double scale = 0;
  for (int64_t i = 0; i < expected.numel(); ++i)
    if (std::isfinite(expected.get(i)))
      scale = std::max(scale, std::fabs(expected.get(i)));
  for (int64_t i = 0; i < expected.numel(); ++i) {
    double a = actual.get(i), e = expected.get(i);
    if (std::isnan(e)) {
      EXPECT_TRUE(std::isnan(a)) << what << "[" << i << "]";
    } else if (std::isinf(e)) {
      EXPECT_EQ(a, e) << what << "[" << i << "]";
    } else {
      EXPECT_NEAR(a, e, rtol * std::max(scale, 1e-300)) << what << "[" << i << "]";
    }
  }
}

std::vector<std::string> testTargets() { return {"native", "x86-64-v3"}; }

std::string targetSuffix(const std::string &cpu) {
  if (cpu == "native")
    return "";
  std::string suffix = "_" + cpu;
  std::replace(suffix.begin(), suffix.end(), '-', '_');
  return suffix;
}

bool hostRuns(const std::string &cpu) {
  std::string error;
  std::optional<codegen::Target> target = codegen::targetFor(cpu, error);
  return target && codegen::missingFeatures(*target).empty();
}

codegen::Compiler &testCompiler(const std::string &cpu) {
  static std::map<std::string, std::unique_ptr<codegen::Compiler>> compilers;
  std::unique_ptr<codegen::Compiler> &compiler = compilers[cpu];
  if (!compiler) {
    std::string error;
    codegen::CompileOptions options;
    std::optional<codegen::Target> target = codegen::targetFor(cpu, error);
    EXPECT_TRUE(target) << error;
    if (target)
      options.target = *target;
    compiler = codegen::Compiler::create(options, error);
    EXPECT_TRUE(compiler) << error;
  }
  return *compiler;
}

void compareWithInterpreter(const std::string &text, bool f64, const std::string &cpu) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = ir::parseIR(sources, sources.addBuffer("case.nnir", text), diags);
  ASSERT_TRUE(module) << text;
  const ir::Function &fn = *module->lookup(ir::kForwardFunction);
  std::vector<Tensor> args = networkArguments(fn, {});
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : args)
    pointers.push_back(&t);
  auto reference = ir::Interpreter(diags).run(fn, pointers, {});
  ASSERT_TRUE(reference);
  codegen::CompiledStep *step = testCompiler(cpu).compile(fn, {}, sources, diags);
  ASSERT_TRUE(step);
  auto compiled = step->run(pointers, diags);
  ASSERT_TRUE(compiled);
  for (size_t i = 0; i < compiled->size(); ++i)
    expectClose((*compiled)[i], (*reference)[i], f64 ? 1e-12 : 1e-5, fn.results[i].name);
  for (const Diagnostic *d : diags.sorted())
    ADD_FAILURE() << diags.format(*d);
}

void expectSameBitsForAnyThreadCount(const std::string &script, int64_t batch) {
  std::unique_ptr<Network> net = loadNetwork(script, false);
  ASSERT_TRUE(net);
  net->bindings["B"] = batch;
  std::vector<Tensor> args = networkArguments(*net->step, net->bindings);
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : args)
    pointers.push_back(&t);
  codegen::CompiledStep *step =
      testCompiler().compile(*net->step, net->bindings, net->sources, net->diags);
  ASSERT_TRUE(step);
  std::vector<std::vector<Tensor>> runs;
  for (int threads : {1, 2, 3}) {
    setParallelThreads(threads);
    auto results = step->run(pointers, net->diags);
    ASSERT_TRUE(results);
    runs.push_back(std::move(*results));
  }
  setParallelThreads(0);
  for (size_t r = 1; r < runs.size(); ++r)
    for (size_t i = 0; i < runs[0].size(); ++i) {
      ASSERT_EQ(runs[r][i].byteSize(), runs[0][i].byteSize());
      EXPECT_EQ(std::memcmp(runs[r][i].raw(), runs[0][i].raw(), runs[0][i].byteSize()), 0)
          << "result " << i << " with " << r + 1 << " threads";
    }
}

std::string networkTestName(const std::filesystem::path &script, bool f64) {
  return script.stem().string() + (f64 ? "_f64" : "_f32");
}

} // namespace nabla
