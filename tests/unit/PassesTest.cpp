//===- PassesTest.cpp - The optimization passes keep the numbers ----------===//
//
// For every test network and example, in f64:
//   - each pass alone leaves IR that verifies and that the interpreter
//     evaluates to the same results as before (to rounding: simplification
//     and folding may reorder arithmetic);
//   - the whole pipeline, compiled, gives the interpreter's results on the
//     unoptimized step, in f64 and f32 (pipeline on or off: the same loss and
//     gradients);
//   - the memory plan of the optimized step never gives two values alive at
//     the same time overlapping bytes.
// Each pass's rewrites are checked by golden tests in tests/lit/opt.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"

#include "codegen/Compiler.h"
#include "codegen/MemoryPlan.h"
#include "ir/Clone.h"
#include "ir/Groups.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"
#include "passes/Pipeline.h"

#include <gtest/gtest.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla {
namespace {

using namespace ir;

/// A copy of the network's step in its module, to transform.
Function *copyOfStep(Network &net, const std::string &name) {
  Function *copy = net.module->addFunction(name);
  cloneInto(*net.step, *copy);
  return copy;
}

std::vector<Tensor> interpret(Network &net, const Function &fn, const std::vector<Tensor> &args) {
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : args)
    pointers.push_back(&t);
  auto results = Interpreter(net.diags).run(fn, pointers, net.bindings);
  EXPECT_TRUE(results);
  return results ? std::move(*results) : std::vector<Tensor>{};
}

void compareResults(const Function &fn, const std::vector<Tensor> &actual,
                    const std::vector<Tensor> &expected, double rtol, const std::string &what) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    expectClose(actual[i], expected[i], rtol,
                what + ": " + roleName(fn.results[i].role) + " " + fn.results[i].name);
}

class PassOnNetwork
    : public ::testing::TestWithParam<std::tuple<std::filesystem::path, std::string>> {};

TEST_P(PassOnNetwork, KeepsTheInterpretersResults) {
  auto [path, passName] = GetParam();
  std::unique_ptr<Network> net = loadNetwork(path, /*f64=*/true);
  ASSERT_TRUE(net);
  std::vector<Tensor> args = networkArguments(*net->step, net->bindings);
  std::vector<Tensor> before = interpret(*net, *net->step, args);
  Function *fn = copyOfStep(*net, "transformed");
  for (const passes::Pass &pass : passes::allPasses())
    if (pass.name == passName)
      pass.run(*fn);
  ASSERT_TRUE(verify(*fn, net->diags, passName)) << net->diags.diagnostics()[0].message;
  compareResults(*fn, interpret(*net, *fn, args), before, 1e-12, passName);
}

std::vector<std::string> passNames() {
  std::vector<std::string> names;
  for (const passes::Pass &p : passes::allPasses())
    names.push_back(p.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Networks, PassOnNetwork,
                         ::testing::Combine(::testing::ValuesIn(networkScripts()),
                                            ::testing::ValuesIn(passNames())),
                         [](const auto &info) {
                           std::string pass = std::get<1>(info.param);
                           std::replace(pass.begin(), pass.end(), '-', '_');
                           return std::get<0>(info.param).stem().string() + "_" + pass;
                         });

/// The pipeline as the tool runs it, verifying after every change.
Function *optimizedStep(Network &net) {
  Function *fn = copyOfStep(net, "optimized");
  std::string dumps;
  llvm::raw_string_ostream os(dumps);
  passes::PassManager manager(passes::optimizationPipeline(), {}, net.sources, net.diags, os);
  EXPECT_TRUE(manager.run(*fn));
  return fn;
}

class PipelineOnNetwork : public ::testing::TestWithParam<std::tuple<std::filesystem::path, bool>> {
};

TEST_P(PipelineOnNetwork, CompiledGivesTheUnoptimizedResults) {
  auto [path, f64] = GetParam();
  std::unique_ptr<Network> net = loadNetwork(path, f64);
  ASSERT_TRUE(net);
  std::vector<Tensor> args = networkArguments(*net->step, net->bindings);
  std::vector<Tensor> reference = interpret(*net, *net->step, args);
  Function *fn = optimizedStep(*net);
  EXPECT_FALSE(groupsOf(*fn).empty()) << "nothing was fused";
  codegen::CompiledStep *step =
      testCompiler().compile(*fn, net->bindings, net->sources, net->diags);
  ASSERT_TRUE(step);
  std::vector<const Tensor *> pointers;
  for (const Tensor &t : args)
    pointers.push_back(&t);
  auto compiled = step->run(pointers, net->diags);
  ASSERT_TRUE(compiled);
  compareResults(*fn, *compiled, reference, f64 ? 1e-12 : 1e-5, "pipeline");
  // The optimized step on the interpreter too (its groups mean nothing there).
  compareResults(*fn, interpret(*net, *fn, args), reference, f64 ? 1e-12 : 1e-5, "interpreted");
}

TEST_P(PipelineOnNetwork, MemoryPlanNeverOverlapsLiveValues) {
  auto [path, f64] = GetParam();
  std::unique_ptr<Network> net = loadNetwork(path, f64);
  ASSERT_TRUE(net);
  Function *fn = optimizedStep(*net);
  std::string error;
  auto plan = codegen::MemoryPlan::plan(*fn, net->bindings, codegen::hostTarget(), error);
  ASSERT_TRUE(plan) << error;
  const auto &buffers = plan->buffers();
  auto overlapBytes = [](size_t a, size_t an, size_t b, size_t bn) {
    return a < b + bn && b < a + an;
  };
  for (size_t i = 0; i < buffers.size(); ++i) {
    const codegen::BufferPlan &a = buffers[i];
    EXPECT_GE(a.offset, codegen::MemoryPlan::kStatusBytes);
    EXPECT_LE(a.offset + a.bytes, plan->arenaBytes());
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const codegen::BufferPlan &b = buffers[j];
      bool liveTogether = a.firstKernel <= b.lastKernel && b.firstKernel <= a.lastKernel;
      // Written in place: b takes a's bytes in the kernel where a dies.
      bool handedOver = b.reuses == a.value && a.lastKernel == b.firstKernel;
      if (liveTogether && !handedOver)
        EXPECT_FALSE(overlapBytes(a.offset, a.bytes, b.offset, b.bytes))
            << "%" << a.value->name << " and %" << b.value->name << " overlap";
    }
    for (size_t k = a.firstKernel; k <= a.lastKernel; ++k) {
      const codegen::KernelPlan &kernel = plan->kernels()[k];
      if (kernel.scratchBytes)
        EXPECT_FALSE(overlapBytes(a.offset, a.bytes, kernel.scratchOffset, kernel.scratchBytes));
    }
  }
  // Never more than every value in a buffer of its own, plus the largest
  // scratch space (packed matmul panels) one kernel needs.
  size_t scratch = 0;
  for (const codegen::KernelPlan &k : plan->kernels())
    scratch = std::max(scratch, k.scratchBytes);
  EXPECT_LE(plan->arenaBytes(),
            plan->unplannedBytes() + (scratch + 63) / 64 * 64 + codegen::MemoryPlan::kStatusBytes);
}

TEST_P(PipelineOnNetwork, OptimizedTextParsesBackAndPrintsTheSame) {
  auto [path, f64] = GetParam();
  std::unique_ptr<Network> net = loadNetwork(path, f64);
  ASSERT_TRUE(net);
  Function *fn = optimizedStep(*net);
  Module shown;
  shown.functions.push_back(std::make_unique<Function>(kTrainStepFunction));
  cloneInto(*fn, *shown.functions.back());
  std::string text = toString(shown, net->sources);
  auto parsed = parseIR(net->sources, net->sources.addBuffer("opt.nnir", text), net->diags);
  ASSERT_TRUE(parsed) << text;
  EXPECT_EQ(toString(*parsed, net->sources), text);
}

INSTANTIATE_TEST_SUITE_P(Networks, PipelineOnNetwork,
                         ::testing::Combine(::testing::ValuesIn(networkScripts()),
                                            ::testing::Bool()),
                         [](const auto &info) {
                           return networkTestName(std::get<0>(info.param), std::get<1>(info.param));
                         });

TEST(PassManager, VerifiesAfterEveryChangeAndNamesThePass) {
  std::unique_ptr<Network> net =
      loadNetwork(std::string(NABLA_SOURCE_DIR) + "/examples/xor.nn", false);
  ASSERT_TRUE(net);
  // A pass that breaks the IR: the loss becomes an op defined after... nowhere.
  passes::Pass breaker{"breaker", "", [](Function &fn) {
                         fn.ops.back()->result.type.shape.push_back(Dim(7));
                         return true;
                       }};
  std::string dumps;
  llvm::raw_string_ostream os(dumps);
  passes::PassManager manager({breaker}, {}, net->sources, net->diags, os);
  EXPECT_FALSE(manager.run(*net->step));
  ASSERT_FALSE(net->diags.diagnostics().empty());
  EXPECT_NE(net->diags.diagnostics()[0].message.find("invalid IR after the breaker pass"),
            std::string::npos)
      << net->diags.diagnostics()[0].message;
}

TEST(PassManager, PrintsAfterTheChosenPassesAndSkipsDisabledOnes) {
  std::unique_ptr<Network> net =
      loadNetwork(std::string(NABLA_SOURCE_DIR) + "/examples/fashion_mlp.nn", false);
  ASSERT_TRUE(net);
  passes::PassOptions options;
  options.printAfter = {"cse"};
  options.disabled = {"fuse"};
  std::string dumps;
  llvm::raw_string_ostream os(dumps);
  passes::PassManager manager(passes::optimizationPipeline(), options, net->sources, net->diags,
                              os);
  ASSERT_TRUE(manager.run(*net->step));
  EXPECT_NE(dumps.find("# *** IR after cse on @train_step ***"), std::string::npos);
  EXPECT_EQ(dumps.find("IR after simplify"), std::string::npos);
  EXPECT_TRUE(groupsOf(*net->step).empty());
  bool timedFuse = false;
  for (const passes::PassTime &t : manager.times())
    timedFuse |= t.name == "fuse";
  EXPECT_FALSE(timedFuse);
}

} // namespace
} // namespace nabla
