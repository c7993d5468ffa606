//===- GemmTest.cpp - The tiled matmul kernel and the thread pool ---------===//
//
// The tiled kernel (codegen/GemmKernels.cpp) against the interpreter's plain
// loops, over shapes that exercise every edge (rows and columns that are not
// multiples of the tile, narrow and wide outputs, batches) and every
// transposition, in f32 and f64; and the same results, to the bit, whatever
// the number of threads.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"

#include "codegen/Kernels.h"
#include "ir/Parser.h"
#include "runtime/Random.h"
#include "runtime/ThreadPool.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace nabla {
namespace {

using namespace ir;

struct Shape3 {
  int64_t batches, m, n, k;
};

struct GemmCase {
  Shape3 s;
  bool ta, tb, f64;
};

void PrintTo(const GemmCase &c, std::ostream *os) {
  *os << c.s.batches << "x" << c.s.m << "x" << c.s.n << "x" << c.s.k << (c.ta ? " ta" : "")
      << (c.tb ? " tb" : "") << (c.f64 ? " f64" : " f32");
}

std::string dims(int64_t batches, int64_t a, int64_t b) {
  return batches > 1 ? fmt::format("{}, {}, {}", batches, a, b) : fmt::format("{}, {}", a, b);
}

class Gemm : public ::testing::TestWithParam<GemmCase> {};

TEST_P(Gemm, MatchesTheInterpreter) {
  const GemmCase &c = GetParam();
  const char *dt = c.f64 ? "f64" : "f32";
  auto [batches, m, n, k] = c.s;
  std::string text = fmt::format(
      "func @forward {{\n  input %a : {0}[{1}]\n  input %b : {0}[{2}]\n"
      "  %c = matmul %a, %b {{transpose_a = {3}, transpose_b = {4}}} : {0}[{5}]\n"
      "  output c = %c\n}}\n",
      dt, c.ta ? dims(batches, k, m) : dims(batches, m, k),
      c.tb ? dims(batches, n, k) : dims(batches, k, n), c.ta, c.tb, dims(batches, m, n));
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("gemm.nnir", text), diags);
  ASSERT_TRUE(module) << text;
  const Function &fn = *module->lookup(kForwardFunction);
  // The case must take the tiled path, or it tests nothing new.
  std::vector<codegen::Sizes> in = {*concreteShape(fn.args[0]->value.type.shape, {}),
                                    *concreteShape(fn.args[1]->value.type.shape, {})};
  ASSERT_TRUE(codegen::useGemm(*fn.ops[0], *concreteShape(fn.ops[0]->result.type.shape, {}), in));
  std::vector<Tensor> args = networkArguments(fn, {});
  std::vector<const Tensor *> pointers = {&args[0], &args[1]};
  auto reference = Interpreter(diags).run(fn, pointers, {});
  ASSERT_TRUE(reference);
  codegen::CompiledStep *step = testCompiler().compile(fn, {}, sources, diags);
  ASSERT_TRUE(step);
  auto compiled = step->run(pointers, diags);
  ASSERT_TRUE(compiled);
  expectClose((*compiled)[0], (*reference)[0], c.f64 ? 1e-12 : 2e-6, "c");
}

std::vector<GemmCase> gemmCases() {
  std::vector<Shape3> shapes = {
      {1, 13, 37, 41},                     // edges in every direction
      {1, 24, 64, 16},                     // whole tiles
      {1, 100, 10, 100},                   // one narrow panel
      {1, 7, 100, 50},                     // fewer rows than a tile
      {1, 64, 129, 33},                    // one column past a multiple of the vector
      {1, 128, 512, 300}, {3, 17, 40, 33}, // batches
  };
  std::vector<GemmCase> cases;
  for (const Shape3 &s : shapes)
    for (int t = 0; t < 4; ++t)
      for (bool f64 : {false, true})
        cases.push_back({s, (t & 1) != 0, (t & 2) != 0, f64});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Gemm, ::testing::ValuesIn(gemmCases()), [](const auto &info) {
  const GemmCase &c = info.param;
  return fmt::format("b{}_m{}_n{}_k{}{}{}_{}", c.s.batches, c.s.m, c.s.n, c.s.k, c.ta ? "_ta" : "",
                     c.tb ? "_tb" : "", c.f64 ? "f64" : "f32");
});

TEST(ThreadPool, ResultsAreTheSameBitsWhateverTheThreadCount) {
  expectSameBitsForAnyThreadCount(std::string(NABLA_SOURCE_DIR) + "/examples/fashion_mlp.nn", 96);
}

TEST(ThreadPool, RunsEveryTaskOnce) {
  for (int threads : {1, 2, 5}) {
    setParallelThreads(threads);
    std::vector<int> hits(1000, 0);
    nabla_parallel_for(
        [](void *context, int64_t begin, int64_t end) {
          auto &h = *static_cast<std::vector<int> *>(context);
          for (int64_t i = begin; i < end; ++i)
            ++h[size_t(i)];
        },
        &hits, 1000);
    for (int h : hits)
      ASSERT_EQ(h, 1) << threads << " threads";
    EXPECT_EQ(parallelThreads(), threads);
  }
  setParallelThreads(0);
}

} // namespace
} // namespace nabla
