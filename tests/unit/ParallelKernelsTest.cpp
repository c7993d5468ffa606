//===- ParallelKernelsTest.cpp - Kernels that split large work ------------===//
//
// Large reductions (split over axis 0, with partial results when axis 0 is
// reduced, and with runs of axes merged) and large fused element-wise
// groups (axes merged where the broadcasts allow, long rows split), and
// fused groups done on the row tiles of a product by rows, against the
// interpreter, at sizes that take those paths, in f32 and f64, for the
// host's CPU and for x86-64-v3.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace nabla {
namespace {

class ParallelKernels : public ::testing::TestWithParam<std::tuple<bool, std::string>> {
protected:
  bool f64() const { return std::get<0>(GetParam()); }
  const std::string &cpu() const { return std::get<1>(GetParam()); }
};

TEST_P(ParallelKernels, LargeReductionsMatchTheInterpreter) {
  if (!hostRuns(cpu()))
    GTEST_SKIP() << "this host cannot run code for " << cpu();
  const char *dt = f64() ? "f64" : "f32";
  // 40 x 12 x 24 x 30 = 345,600 elements: above the size that splits.
  std::string text =
      fmt::format("func @forward {{\n  input %x : {0}[40, 12, 24, 30]\n  input %v : {0}[300000]\n"
                  "  %bias = reduce_sum %x {{axes = [0, 2, 3]}} : {0}[12]\n"
                  "  %rows = reduce_sum %x {{axes = [1, 2, 3]}} : {0}[40]\n"
                  "  %mid = reduce_max %x {{axes = [1, 2]}} : {0}[40, 30]\n"
                  "  %lead = reduce_min %x {{axes = [0, 1], keepdims = true}} : {0}[1, 1, 24, 30]\n"
                  "  %all = reduce_sum %x {{axes = [0, 1, 2, 3]}} : {0}[]\n"
                  "  %flat = reduce_sum %v {{axes = [0]}} : {0}[]\n"
                  "  %lse = logsumexp %x {{axes = [0, 3]}} : {0}[12, 24]\n"
                  "  output bias = %bias\n  output rows = %rows\n  output mid = %mid\n"
                  "  output lead = %lead\n  output all = %all\n  output flat = %flat\n"
                  "  output lse = %lse\n}}\n",
                  dt);
  compareWithInterpreter(text, f64(), cpu());
}

TEST_P(ParallelKernels, LargeFusedGroupsMatchTheInterpreter) {
  if (!hostRuns(cpu()))
    GTEST_SKIP() << "this host cannot run code for " << cpu();
  const char *dt = f64() ? "f64" : "f32";
  // A per-channel bias (mergeable trailing axes), a per-column scale (not
  // mergeable with the axis before it), and a flat chain long enough to
  // split into rows.
  std::string text =
      fmt::format("func @forward {{\n  input %x : {0}[16, 8, 20, 30]\n  input %c : {0}[8, 1, 1]\n"
                  "  input %s : {0}[30]\n  input %v : {0}[3, 40000]\n"
                  "  fused {{\n"
                  "    %cb = broadcast %c : {0}[16, 8, 20, 30]\n"
                  "    %y = add %x, %cb : {0}[16, 8, 20, 30]\n"
                  "    %r = relu %y : {0}[16, 8, 20, 30]\n"
                  "  }}\n"
                  "  fused {{\n"
                  "    %sb = broadcast %s : {0}[16, 8, 20, 30]\n"
                  "    %z = mul %r, %sb : {0}[16, 8, 20, 30]\n"
                  "  }}\n"
                  "  fused {{\n"
                  "    %e = exp %v : {0}[3, 40000]\n"
                  "    %t = tanh %e : {0}[3, 40000]\n"
                  "  }}\n"
                  "  output r = %r\n  output z = %z\n  output t = %t\n}}\n",
                  dt);
  compareWithInterpreter(text, f64(), cpu());
}

TEST_P(ParallelKernels, FusedProductsByRowsMatchTheInterpreter) {
  if (!hostRuns(cpu()))
    GTEST_SKIP() << "this host cannot run code for " << cpu();
  const char *dt = f64() ? "f64" : "f32";
  // Products with more rows than K (GemmKernels.cpp: blocks of whole rows,
  // B packed once) whose groups run on each row tile as it is final: a
  // weight-gradient-like product (A transposed) with an update-like group
  // reading three more operands and storing three values; a batched one
  // with edge rows and columns, K in two blocks and B transposed (packed
  // panels side by side), a per-row label (one_hot) and a bias.
  std::string text = fmt::format(
      "func @forward {{\n"
      "  input %x : {0}[96, 700]\n  input %d : {0}[96, 130]\n"
      "  input %w : {0}[700, 130]\n  input %m : {0}[700, 130]\n  input %v : {0}[700, 130]\n"
      "  input %a : {0}[2, 650, 600]\n  input %b : {0}[2, 70, 600]\n"
      "  input %bias : {0}[70]\n  input %y : i32[2, 650]\n"
      "  fused {{\n"
      "    %g = matmul %x, %d {{transpose_a = true, transpose_b = false}} : {0}[700, 130]\n"
      "    %m2 = add %m, %g : {0}[700, 130]\n"
      "    %gg = mul %g, %g : {0}[700, 130]\n"
      "    %vv = mul %v, %v : {0}[700, 130]\n"
      "    %v2 = add %vv, %gg : {0}[700, 130]\n"
      "    %one = constant {{value = 1}} : {0}[700, 130]\n"
      "    %floor = add %v2, %one : {0}[700, 130]\n"
      "    %root = sqrt %floor : {0}[700, 130]\n"
      "    %step = div %m2, %root : {0}[700, 130]\n"
      "    %w2 = sub %w, %step : {0}[700, 130]\n"
      "  }}\n"
      "  fused {{\n"
      "    %p = matmul %a, %b {{transpose_a = false, transpose_b = true}} : {0}[2, 650, 70]\n"
      "    %bb = broadcast %bias : {0}[2, 650, 70]\n"
      "    %q = add %p, %bb : {0}[2, 650, 70]\n"
      "    %oh = one_hot %y {{classes = 70}} : {0}[2, 650, 70]\n"
      "    %r = sub %q, %oh : {0}[2, 650, 70]\n"
      "    %h = relu %r : {0}[2, 650, 70]\n"
      "  }}\n"
      "  output w = %w2\n  output m = %m2\n  output v = %v2\n  output h = %h\n}}\n",
      dt);
  compareWithInterpreter(text, f64(), cpu());
}

INSTANTIATE_TEST_SUITE_P(Types, ParallelKernels,
                         ::testing::Combine(::testing::Bool(), ::testing::ValuesIn(testTargets())),
                         [](const auto &info) {
                           return std::string(std::get<0>(info.param) ? "f64" : "f32") +
                                  targetSuffix(std::get<1>(info.param));
                         });

} // namespace
} // namespace nabla
