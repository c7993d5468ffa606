//===- JITTest.cpp - Compiled code against the reference interpreter ------===//
//
// Every op, and the training steps of every composed test network and
// example, run through the JIT and through the interpreter on the same
// arguments; every result (outputs, loss, gradients) must agree: within
// 1e-12 relative in f64 and 1e-5 in f32, both measured against the largest
// magnitude in the tensor (sums may run in a different order). Each test
// runs for the host's CPU and for x86-64-v3 (AVX2; names end _x86_64_v3),
// so one host tests both kernel shapes.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"
#include "OpCases.h"
#include "codegen/Compiler.h"
#include "frontend/Lower.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Adjoint.h"
#include "support/Random.h"
#include "training/Initializers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nabla {
namespace {

using namespace ir;

/// Runs `fn` both ways on `args` (the JIT compiling for `cpu`) and compares
/// every result.
void compareRuns(const Function &fn, const std::vector<Tensor> &args,
                 const SymbolBindings &bindings, const SourceManager &sources,
                 DiagnosticEngine &diags, double rtol, const std::string &cpu) {
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : args)
    pointers.push_back(&t);
  auto reference = Interpreter(diags).run(fn, pointers, bindings);
  ASSERT_TRUE(reference);
  codegen::CompiledStep *step = testCompiler(cpu).compile(fn, bindings, sources, diags);
  ASSERT_TRUE(step);
  auto jit = step->run(pointers, diags);
  ASSERT_TRUE(jit);
  ASSERT_EQ(jit->size(), reference->size());
  for (size_t i = 0; i < jit->size(); ++i)
    expectClose((*jit)[i], (*reference)[i], rtol,
                std::string(roleName(fn.results[i].role)) + " " + fn.results[i].name);
  // A second run reuses the compiled code and its arena.
  auto again = step->run(pointers, diags);
  ASSERT_TRUE(again);
  for (size_t i = 0; i < jit->size(); ++i)
    expectClose((*again)[i], (*jit)[i], 0, "second run");
}

struct OpRun {
  Case c;
  bool f32;
  bool withGradients;
  std::string cpu;
};

void PrintTo(const OpRun &run, std::ostream *os) {
  *os << run.c.name << (run.f32 ? " in f32" : " in f64") << " for " << run.cpu;
}

class JITOp : public ::testing::TestWithParam<OpRun> {};

TEST_P(JITOp, MatchesTheInterpreter) {
  const OpRun &run = GetParam();
  if (!hostRuns(run.cpu))
    GTEST_SKIP() << "this host cannot run code for " << run.cpu;
  std::string body = run.c.body;
  if (run.f32)
    for (size_t p = body.find("f64"); p != std::string::npos; p = body.find("f64", p))
      body.replace(p, 3, "f32");
  std::string dt = run.f32 ? "f32" : "f64";
  std::string text = "func @forward {\n" + body;
  if (run.withGradients) {
    std::string type = resultTypeOf(body);
    size_t rank =
        type.find("[]") != std::string::npos ? 0 : std::count(type.begin(), type.end(), ',') + 1;
    std::string axes;
    for (size_t d = 0; d < rank; ++d)
      axes += (d ? ", " : "") + std::to_string(d);
    text += "  input %w : " + type + "\n  %yw = mul %y, %w : " + type +
            "\n  %l = reduce_sum %yw {axes = [" + axes + "]} : " + dt + "[]\n  loss = %l\n";
  }
  text += "  output y = %y\n}\n";
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("case.nnir", text), diags);
  ASSERT_TRUE(module) << text;
  const Function *fn = module->lookup("forward");
  if (run.withGradients)
    fn = passes::differentiate(*module, *fn, "train_step", diags);
  ASSERT_TRUE(fn);
  std::map<std::string, Domain> domains(run.c.domains.begin(), run.c.domains.end());
  compareRuns(*fn, drawArguments(*fn, domains, 5), {}, sources, diags, run.f32 ? 1e-5 : 1e-12,
              run.cpu);
  for (const Diagnostic *d : diags.sorted())
    ADD_FAILURE() << diags.format(*d);
}

std::vector<OpRun> opRuns() {
  std::vector<OpRun> runs;
  for (const std::string &cpu : testTargets())
    for (bool f32 : {false, true}) {
      for (const Case &c : differentiableCases())
        runs.push_back({c, f32, true, cpu});
      for (const Case &c : gradientFreeCases())
        runs.push_back({c, f32, false, cpu});
    }
  return runs;
}

INSTANTIATE_TEST_SUITE_P(Ops, JITOp, ::testing::ValuesIn(opRuns()),
                         [](const ::testing::TestParamInfo<OpRun> &info) {
                           return info.param.c.name + (info.param.f32 ? "_f32" : "_f64") +
                                  targetSuffix(info.param.cpu);
                         });

TEST(JITOp, EveryOpIsCovered) {
  std::set<std::string> covered;
  for (const OpRun &r : opRuns()) {
    size_t eq = r.c.body.rfind("%y = ");
    std::string op = r.c.body.substr(eq + 5);
    covered.insert(op.substr(0, op.find(' ')));
  }
  // The train step of a scan case runs its scan_grad.
  if (covered.count("scan"))
    covered.insert("scan_grad");
  for (unsigned i = 0; i < opCount(); ++i)
    EXPECT_TRUE(covered.count(std::string(opInfo(OpKind(i)).name)))
        << "no JIT test for " << opInfo(OpKind(i)).name;
}

class JITNetwork
    : public ::testing::TestWithParam<std::tuple<std::filesystem::path, bool, std::string>> {};

TEST_P(JITNetwork, TrainStepMatchesTheInterpreter) {
  auto [path, f64, cpu] = GetParam();
  if (!hostRuns(cpu))
    GTEST_SKIP() << "this host cannot run code for " << cpu;
  std::unique_ptr<Network> net = loadNetwork(path, f64);
  ASSERT_TRUE(net);
  compareRuns(*net->step, networkArguments(*net->step, net->bindings), net->bindings, net->sources,
              net->diags, f64 ? 1e-12 : 1e-5, cpu);
}

INSTANTIATE_TEST_SUITE_P(Scripts, JITNetwork,
                         ::testing::Combine(::testing::ValuesIn(networkScripts()),
                                            ::testing::Bool(), ::testing::ValuesIn(testTargets())),
                         [](const auto &info) {
                           return networkTestName(std::get<0>(info.param),
                                                  std::get<1>(info.param)) +
                                  targetSuffix(std::get<2>(info.param));
                         });

TEST(JIT, LabelsOutOfRangeAreReportedAtTheOp) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("t.nnir", R"(func @forward {
  input %z : f32[2, 3]
  input %t : i32[2]
  %l = cross_entropy %z, %t : f32[] loc("net.nn":4:6)
  loss = %l
})"),
                        diags);
  ASSERT_TRUE(module);
  codegen::CompiledStep *step =
      testCompiler().compile(*module->lookup("forward"), {}, sources, diags);
  ASSERT_TRUE(step);
  Tensor z(DType::F32, {2, 3}), t(DType::I32, {2});
  t.set(1, 3);
  EXPECT_FALSE(step->run({&z, &t}, diags));
  ASSERT_EQ(diags.diagnostics().size(), 1u);
  EXPECT_EQ(diags.diagnostics()[0].message,
            "cross_entropy: label 3 at position 1 is outside [0, 3)");
  EXPECT_EQ(diags.diagnostics()[0].loc.line, 4u);
}

TEST(JIT, EachSetOfSizesCompilesOnce) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("t.nnir", R"(func @forward {
  input %x : f32[B, 3]
  %y = exp %x : f32[B, 3]
  output y = %y
})"),
                        diags);
  ASSERT_TRUE(module);
  const Function &fn = *module->lookup("forward");
  unsigned before = testCompiler().times().compiles;
  codegen::CompiledStep *a = testCompiler().compile(fn, {{"B", 2}}, sources, diags);
  codegen::CompiledStep *b = testCompiler().compile(fn, {{"B", 2}}, sources, diags);
  codegen::CompiledStep *c = testCompiler().compile(fn, {{"B", 7}}, sources, diags);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(testCompiler().times().compiles, before + 2);
  EXPECT_EQ(c->plan().of(&fn.ops[0]->result).shape, (std::vector<int64_t>{7, 3}));
}

TEST(JIT, TheCacheKeysOnTheFunctionsTextNotItsAddress) {
  // Functions come and go (each test, each module): a compiled step must be
  // found again for the same text and never for a different one, even when a
  // new function reuses a freed function's address.
  const char *exp =
      "func @forward {\n  input %x : f32[3]\n  %y = exp %x : f32[3]\n  output y = %y\n}\n";
  const char *neg =
      "func @forward {\n  input %x : f32[3]\n  %y = neg %x : f32[3]\n  output y = %y\n}\n";
  auto compileText = [](const char *text) {
    SourceManager sources;
    DiagnosticEngine diags(sources);
    auto module = parseIR(sources, sources.addBuffer("t.nnir", text), diags);
    codegen::CompiledStep *step =
        testCompiler().compile(*module->lookup("forward"), {}, sources, diags);
    Tensor x(DType::F32, {3});
    x.set(0, 1);
    return std::make_pair(step, step->run({&x}, diags)->at(0).get(0));
  };
  auto [a, ya] = compileText(exp);
  auto [b, yb] = compileText(neg);
  auto [c, yc] = compileText(exp);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, c);
  EXPECT_FLOAT_EQ(ya, std::exp(1.0f));
  EXPECT_FLOAT_EQ(yb, -1.0f);
  EXPECT_FLOAT_EQ(yc, ya);
}

} // namespace
} // namespace nabla
