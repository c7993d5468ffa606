//===- GemmTest.cpp - The tiled matmul kernel and the thread pool ---------===//
//
// The tiled kernel (codegen/GemmKernels.cpp) against the interpreter's plain
// loops, over shapes that exercise every edge (rows and columns that are not
// multiples of the tile, narrow and wide outputs, batches) and every part of
// the plan (blocks of K, of N and of M, packed A, packed B), in every
// transposition, in f32 and f64, for the host's CPU and for x86-64-v3: the
// register tiles and blocks differ between them. A test checks that the
// shapes reach every part of the plan on both; another the register tiles
// docs/codegen.md derives. And the same results, to the bit, whatever the
// number of threads. Products with more rows than K take blocks of whole
// rows, B packed once for all of them.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"

#include "codegen/Kernels.h"
#include "ir/Parser.h"
#include "runtime/ThreadPool.h"
#include "support/Random.h"

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
  std::string cpu;
};

void PrintTo(const GemmCase &c, std::ostream *os) {
  *os << c.s.batches << "x" << c.s.m << "x" << c.s.n << "x" << c.s.k << (c.ta ? " ta" : "")
      << (c.tb ? " tb" : "") << (c.f64 ? " f64" : " f32") << " for " << c.cpu;
}

std::string dims(int64_t batches, int64_t a, int64_t b) {
  return batches > 1 ? fmt::format("{}, {}, {}", batches, a, b) : fmt::format("{}, {}", a, b);
}

/// The IR of one product.
std::string productText(const GemmCase &c) {
  const char *dt = c.f64 ? "f64" : "f32";
  auto [batches, m, n, k] = c.s;
  return fmt::format("func @forward {{\n  input %a : {0}[{1}]\n  input %b : {0}[{2}]\n"
                     "  %c = matmul %a, %b {{transpose_a = {3}, transpose_b = {4}}} : {0}[{5}]\n"
                     "  output c = %c\n}}\n",
                     dt, c.ta ? dims(batches, k, m) : dims(batches, m, k),
                     c.tb ? dims(batches, n, k) : dims(batches, k, n), c.ta, c.tb,
                     dims(batches, m, n));
}

/// The tiled kernel's plan for the case's product, or nothing when the
/// product does not take the tiled path.
std::optional<codegen::GemmShape> planOf(const GemmCase &c) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("gemm.nnir", productText(c)), diags);
  EXPECT_TRUE(module);
  if (!module)
    return std::nullopt;
  const Function &fn = *module->lookup(kForwardFunction);
  std::vector<codegen::Sizes> in = {*concreteShape(fn.args[0]->value.type.shape, {}),
                                    *concreteShape(fn.args[1]->value.type.shape, {})};
  codegen::Sizes out = *concreteShape(fn.ops[0]->result.type.shape, {});
  if (!codegen::useGemm(*fn.ops[0], out, in))
    return std::nullopt;
  std::string error;
  std::optional<codegen::Target> target = codegen::targetFor(c.cpu, error);
  EXPECT_TRUE(target) << error;
  if (!target)
    return std::nullopt;
  return codegen::gemmShapeOf(*fn.ops[0], out, in, *target);
}

class Gemm : public ::testing::TestWithParam<GemmCase> {};

TEST_P(Gemm, MatchesTheInterpreter) {
  const GemmCase &c = GetParam();
  if (!hostRuns(c.cpu))
    GTEST_SKIP() << "this host cannot run code for " << c.cpu;
  // The case must take the tiled path, or it tests nothing new.
  ASSERT_TRUE(planOf(c));
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("gemm.nnir", productText(c)), diags);
  ASSERT_TRUE(module);
  const Function &fn = *module->lookup(kForwardFunction);
  std::vector<Tensor> args = networkArguments(fn, {});
  std::vector<const Tensor *> pointers = {&args[0], &args[1]};
  auto reference = Interpreter(diags).run(fn, pointers, {});
  ASSERT_TRUE(reference);
  codegen::CompiledStep *step = testCompiler(c.cpu).compile(fn, {}, sources, diags);
  ASSERT_TRUE(step);
  auto compiled = step->run(pointers, diags);
  ASSERT_TRUE(compiled);
  expectClose((*compiled)[0], (*reference)[0], c.f64 ? 1e-12 : 2e-6, "c");
}

std::vector<Shape3> gemmShapes() {
  return {
      {1, 13, 37, 41},                      // edges in every direction
      {1, 24, 64, 16},                      // whole tiles
      {1, 100, 10, 100},                    // one narrow panel
      {1, 7, 100, 50},                      // fewer rows than a tile
      {1, 64, 129, 33},                     // one column past a multiple of the vector
      {1, 128, 512, 300},  {3, 17, 40, 33}, // batches
      {1, 200, 20, 64},                     // one panel: blocks of rows instead
      {1, 391, 260, 1030},                  // many row tiles, K in 3 blocks, edges
      {1, 50, 520, 1024},                   // rows of A 4 KiB apart
      {1, 30, 1024, 40},                    // rows of B 4 KiB apart
      {3, 100, 600, 64},                    // batches of packed A
      {1, 700, 40, 600},                    // by rows: K in 2 blocks, edges
  };
}

std::vector<GemmCase> gemmCases() {
  std::vector<GemmCase> cases;
  for (const std::string &cpu : testTargets())
    for (const Shape3 &s : gemmShapes())
      for (int t = 0; t < 4; ++t)
        for (bool f64 : {false, true})
          cases.push_back({s, (t & 1) != 0, (t & 2) != 0, f64, cpu});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Gemm, ::testing::ValuesIn(gemmCases()), [](const auto &info) {
  const GemmCase &c = info.param;
  return fmt::format("b{}_m{}_n{}_k{}{}{}_{}{}", c.s.batches, c.s.m, c.s.n, c.s.k,
                     c.ta ? "_ta" : "", c.tb ? "_tb" : "", c.f64 ? "f64" : "f32",
                     targetSuffix(c.cpu));
});

TEST(Gemm, BIsPackedForEightRowTilesOrWhenItsRowsCrowdFewL1Sets) {
  // The benchmark MLP's layers 1 and 2 (128 rows: 21 tiles of 6 with
  // AVX-512, of 6 with AVX2) pack W1 and W2. 40 rows (6 tiles) read W2 in
  // place with AVX-512, whose 256-byte panel rows 1 KiB apart spread over
  // 16 of L1's 64 sets, and pack it with AVX2, whose 64-byte ones crowd 4.
  auto packsB = [](const std::string &cpu, int64_t m, int64_t n, int64_t k) {
    std::optional<codegen::GemmShape> plan = planOf({{1, m, n, k}, false, false, false, cpu});
    EXPECT_TRUE(plan && !plan->byRows && plan->mBlocks == 1);
    return plan && plan->packB;
  };
  for (const std::string cpu : {"skylake-avx512", "x86-64-v3"}) {
    EXPECT_TRUE(packsB(cpu, 128, 512, 784)) << cpu;
    EXPECT_TRUE(packsB(cpu, 128, 256, 512)) << cpu;
  }
  EXPECT_FALSE(packsB("skylake-avx512", 40, 256, 512));
  EXPECT_TRUE(packsB("x86-64-v3", 40, 256, 512));
}

TEST(Gemm, TheShapesReachEveryPartOfThePlan) {
  // For each target and dtype: K in several blocks, N in several blocks, M
  // in several blocks, A packed, B packed (transposed or not), and neither.
  for (const std::string &cpu : {std::string("x86-64-v3"), std::string("skylake-avx512")})
    for (bool f64 : {false, true}) {
      bool kBlocks = false, nBlocks = false, mBlocks = false, packA = false, packA_t = false,
           packB = false, packB_t = false, inPlace = false, byRows = false, byRowsInBlocks = false;
      for (const Shape3 &s : gemmShapes())
        for (int t = 0; t < 4; ++t) {
          GemmCase c{s, (t & 1) != 0, (t & 2) != 0, f64, cpu};
          std::optional<codegen::GemmShape> p = planOf(c);
          ASSERT_TRUE(p) << ::testing::PrintToString(c);
          kBlocks |= p->kBlocks > 1;
          nBlocks |= p->nBlocks > 1;
          mBlocks |= p->mBlocks > 1;
          packA |= p->packA && !c.ta;
          packA_t |= p->packA && c.ta;
          packB |= p->packB && !c.tb;
          packB_t |= p->packB && c.tb;
          inPlace |= !p->packA && !p->packB;
          byRows |= p->byRows && p->mBlocks > 1 && !c.tb;
          byRowsInBlocks |= p->byRows && p->kBlocks > 1 && c.tb;
        }
      std::string what = cpu + (f64 ? " f64" : " f32");
      EXPECT_TRUE(kBlocks) << what;
      EXPECT_TRUE(nBlocks) << what;
      EXPECT_TRUE(mBlocks) << what;
      EXPECT_TRUE(packA) << what;
      EXPECT_TRUE(packA_t) << what;
      EXPECT_TRUE(packB) << what;
      EXPECT_TRUE(packB_t) << what;
      EXPECT_TRUE(inPlace) << what;
      EXPECT_TRUE(byRows) << what;
      EXPECT_TRUE(byRowsInBlocks) << what;
    }
}

TEST(Gemm, RegisterTilesFollowTheRegisterFile) {
  // docs/codegen.md: MR x NR/W accumulators, NR/W vectors of B and a
  // broadcast of A in all but one register: 6 x 2 vectors with AVX2's 16
  // registers, 6 x 4 with AVX-512's 32.
  struct Expected {
    const char *cpu;
    bool f64;
    int64_t mr, nr;
  };
  for (const Expected &e :
       {Expected{"haswell", false, 6, 16}, Expected{"haswell", true, 6, 8},
        Expected{"x86-64-v3", false, 6, 16}, Expected{"skylake-avx512", false, 6, 64},
        Expected{"skylake-avx512", true, 6, 32}, Expected{"znver4", false, 6, 64}}) {
    std::optional<codegen::GemmShape> p = planOf({{1, 128, 512, 256}, false, false, e.f64, e.cpu});
    ASSERT_TRUE(p) << e.cpu;
    EXPECT_EQ(p->mr, e.mr) << e.cpu << (e.f64 ? " f64" : " f32");
    EXPECT_EQ(p->nr, e.nr) << e.cpu << (e.f64 ? " f64" : " f32");
  }
  // A product of a few columns takes one vector and more rows.
  std::optional<codegen::GemmShape> narrow =
      planOf({{1, 128, 8, 256}, false, false, false, "haswell"});
  ASSERT_TRUE(narrow);
  EXPECT_EQ(narrow->nr, 8);
  EXPECT_EQ(narrow->mr, 13);
}

TEST(ThreadPool, ResultsAreTheSameBitsWhateverTheThreadCount) {
  expectSameBitsForAnyThreadCount(std::string(NABLA_SOURCE_DIR) + "/examples/fashion_mlp.nn", 96);
}

} // namespace
} // namespace nabla
