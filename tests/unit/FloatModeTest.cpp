//===- FloatModeTest.cpp - Subnormal numbers in compiled code -------------===//
//
// Compiled code flushes subnormals to zero by default (runtime/FloatMode.h):
// a subnormal operand reads as zero, on the calling thread and on the
// pool's workers. setFlushSubnormals(false) keeps IEEE subnormals. The
// interpreter, and the process's own arithmetic after a step, keep IEEE
// behaviour either way.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"

#include "ir/Parser.h"
#include "runtime/FloatMode.h"
#include "runtime/ThreadPool.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace nabla {
namespace {

/// y = x + x, z = y * x for x of [3, 40000]: a fused loop long enough to
/// be split over the thread pool.
std::string program(const char *dt) {
  return fmt::format("func @forward {{\n  input %x : {0}[3, 40000]\n"
                     "  fused {{\n"
                     "    %y = add %x, %x : {0}[3, 40000]\n"
                     "    %z = mul %y, %x : {0}[3, 40000]\n"
                     "  }}\n"
                     "  output y = %y\n  output z = %z\n}}\n",
                     dt);
}

template <typename T> void checkSubnormalInputs(DType dt, T subnormal) {
  ASSERT_EQ(std::fpclassify(subnormal), FP_SUBNORMAL);
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = ir::parseIR(sources, sources.addBuffer("sub.nnir", program(dtypeName(dt))), diags);
  ASSERT_TRUE(module);
  const ir::Function &fn = *module->lookup(ir::kForwardFunction);
  Tensor x(dt, {3, 40000});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.set(i, double(i % 2 ? subnormal : T(1.5)));
  setParallelThreads(2);
  codegen::CompiledStep *step = testCompiler().compile(fn, {}, sources, diags);
  ASSERT_TRUE(step);

  // Flushed (the default): the subnormal reads as zero, everywhere.
  ASSERT_TRUE(flushSubnormals());
  auto flushed = step->run({&x}, diags);
  ASSERT_TRUE(flushed);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double y = (*flushed)[0].get(i);
    ASSERT_EQ(y, i % 2 ? 0.0 : 3.0) << "element " << i;
  }
  // The process's own arithmetic is IEEE again after the step.
  volatile T after = subnormal;
  EXPECT_EQ(after + after, T(2) * subnormal);
  EXPECT_NE(after + after, T(0));

  // Kept: IEEE results, as the interpreter gives them.
  setFlushSubnormals(false);
  auto kept = step->run({&x}, diags);
  setFlushSubnormals(true);
  ASSERT_TRUE(kept);
  auto reference = ir::Interpreter(diags).run(fn, {&x}, {});
  ASSERT_TRUE(reference);
  for (int64_t i = 0; i < x.numel(); ++i) {
    ASSERT_EQ((*kept)[0].get(i), (*reference)[0].get(i)) << "element " << i;
    ASSERT_EQ((*kept)[1].get(i), (*reference)[1].get(i)) << "element " << i;
  }
  EXPECT_EQ((*kept)[0].get(1), double(subnormal + subnormal));
  setParallelThreads(0);
}

TEST(FloatMode, CompiledCodeFlushesSubnormalsUnlessAskedNotTo) {
  checkSubnormalInputs(DType::F32, std::numeric_limits<float>::denorm_min() * 1000);
  checkSubnormalInputs(DType::F64, std::numeric_limits<double>::denorm_min() * 1000);
}

} // namespace
} // namespace nabla
