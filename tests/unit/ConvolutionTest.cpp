//===- ConvolutionTest.cpp - Convolution and pooling kernels at many shapes -===//
//
// The compiled conv2d, its two derivatives and the pooling ops against the
// interpreter's direct loops, over geometries that reach every path of
// codegen/ConvolutionKernels.cpp and PoolingKernels.cpp: padding on each
// side, strides, non-square kernels, 1x1 kernels (with and without the
// im2col step), more examples than slots, matrices larger than one tile;
// in f32 and f64, for the host's CPU and for x86-64-v3. Then the CNN
// example's training step, to the bit, whatever the number of threads.
//
//===----------------------------------------------------------------------===//
#include "Networks.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace nabla {
namespace {

using namespace ir;

/// x: [n, c, h, w], W: [o, c, kh, kw].
struct ConvCase {
  const char *what;
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw;
};

std::vector<ConvCase> convCases() {
  return {
      {"strided_padded", 2, 3, 5, 5, 2, 3, 3, 2, 2, 1, 1},
      {"more_examples_than_slots", 37, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1},
      {"one_by_one_direct", 4, 8, 6, 6, 20, 1, 1, 1, 1, 0, 0},
      {"one_by_one_strided", 3, 4, 7, 6, 3, 1, 1, 2, 2, 0, 0},
      {"uneven_kernel_stride_padding", 3, 5, 11, 7, 33, 3, 2, 2, 1, 0, 2},
      {"whole_tiles", 2, 16, 14, 14, 40, 3, 3, 1, 1, 1, 1},
      {"large_kernel", 2, 2, 7, 7, 3, 5, 5, 3, 3, 2, 2},
      {"single_output_pixel", 1, 1, 4, 4, 1, 4, 4, 1, 1, 0, 0},
      {"scratch_budget_limits_slots", 27, 4, 80, 80, 2, 5, 5, 1, 1, 2, 2}, // 2.5 MB of col each
  };
}

class Convolution : public ::testing::TestWithParam<std::tuple<ConvCase, bool, std::string>> {};

TEST_P(Convolution, AllThreeOpsMatchTheInterpreter) {
  auto [c, f64, cpu] = GetParam();
  if (!hostRuns(cpu))
    GTEST_SKIP() << "this host cannot run code for " << cpu;
  const char *dt = f64 ? "f64" : "f32";
  int64_t oh = (c.h + 2 * c.ph - c.kh) / c.sh + 1, ow = (c.w + 2 * c.pw - c.kw) / c.sw + 1;
  std::string attrs =
      fmt::format("{{stride = [{}, {}], padding = [{}, {}]}}", c.sh, c.sw, c.ph, c.pw);
  std::string x = fmt::format("{}[{}, {}, {}, {}]", dt, c.n, c.c, c.h, c.w);
  std::string w = fmt::format("{}[{}, {}, {}, {}]", dt, c.o, c.c, c.kh, c.kw);
  std::string y = fmt::format("{}[{}, {}, {}, {}]", dt, c.n, c.o, oh, ow);
  std::string text = fmt::format("func @forward {{\n"
                                 "  input %x : {1}\n  input %k : {2}\n  input %g : {3}\n"
                                 "  %y = conv2d %x, %k {0} : {3}\n"
                                 "  %dx = conv2d_backward_input %g, %k {0} : {1}\n"
                                 "  %dw = conv2d_backward_weight %x, %g {0} : {2}\n"
                                 "  output y = %y\n  output dx = %dx\n  output dw = %dw\n}}\n",
                                 attrs, x, w, y);
  compareWithInterpreter(text, f64, cpu);
}

/// "what_f32", "what_f64_x86_64_v3", ...
template <typename Info> std::string caseName(const Info &info) {
  return std::string(std::get<0>(info.param).what) + (std::get<1>(info.param) ? "_f64" : "_f32") +
         targetSuffix(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Geometries, Convolution,
                         ::testing::Combine(::testing::ValuesIn(convCases()), ::testing::Bool(),
                                            ::testing::ValuesIn(testTargets())),
                         [](const auto &info) { return caseName(info); });

/// x: [n, c, h, w], windows wh x ww every (sh, sw).
struct PoolCase {
  const char *what;
  int64_t n, c, h, w, wh, ww, sh, sw;
};

std::vector<PoolCase> poolCases() {
  return {
      {"overlapping_rows_skipped_columns", 3, 5, 7, 9, 3, 2, 2, 3},
      {"two_by_two_covering", 2, 3, 8, 40, 2, 2, 2, 2},      // two vectors per output row
      {"two_by_two_with_leftovers", 3, 5, 9, 7, 2, 2, 2, 2}, // a row and a column no window covers
      {"gaps_between_windows", 2, 2, 11, 11, 2, 2, 3, 3},
      {"overlapping_columns", 2, 3, 6, 6, 2, 2, 1, 1},
      {"wide_stride", 2, 2, 5, 21, 1, 3, 1, 5},
  };
}

class Pooling : public ::testing::TestWithParam<std::tuple<PoolCase, bool, std::string>> {};

TEST_P(Pooling, EveryPoolingOpMatchesTheInterpreter) {
  auto [c, f64, cpu] = GetParam();
  if (!hostRuns(cpu))
    GTEST_SKIP() << "this host cannot run code for " << cpu;
  const char *dt = f64 ? "f64" : "f32";
  int64_t oh = (c.h - c.wh) / c.sh + 1, ow = (c.w - c.ww) / c.sw + 1;
  std::string attrs =
      fmt::format("{{window = [{}, {}], stride = [{}, {}]}}", c.wh, c.ww, c.sh, c.sw);
  std::string x = fmt::format("{}[{}, {}, {}, {}]", dt, c.n, c.c, c.h, c.w);
  std::string p = fmt::format("{}[{}, {}, {}, {}]", dt, c.n, c.c, oh, ow);
  // relu(x) has windows of zeros: ties, split evenly.
  std::string text = fmt::format("func @forward {{\n"
                                 "  input %x : {1}\n  input %g : {2}\n"
                                 "  %r = relu %x : {1}\n"
                                 "  %m = max_pool2d %x {0} : {2}\n"
                                 "  %a = avg_pool2d %x {0} : {2}\n"
                                 "  %dm = max_pool2d_backward %x, %g {0} : {1}\n"
                                 "  %dr = max_pool2d_backward %r, %g {0} : {1}\n"
                                 "  %da = avg_pool2d_backward %g {0} : {1}\n"
                                 "  %t = max_pool2d_tangent %r, %x {0} : {2}\n"
                                 "  output m = %m\n  output a = %a\n  output dm = %dm\n"
                                 "  output dr = %dr\n  output da = %da\n  output t = %t\n}}\n",
                                 attrs, x, p);
  compareWithInterpreter(text, f64, cpu);
}

INSTANTIATE_TEST_SUITE_P(Windows, Pooling,
                         ::testing::Combine(::testing::ValuesIn(poolCases()), ::testing::Bool(),
                                            ::testing::ValuesIn(testTargets())),
                         [](const auto &info) { return caseName(info); });

TEST(Convolution, CnnStepIsTheSameBitsWhateverTheThreadCount) {
  // More examples than slots, unevenly dealt.
  expectSameBitsForAnyThreadCount(std::string(NABLA_SOURCE_DIR) + "/examples/fashion_cnn.nn", 40);
}

} // namespace
} // namespace nabla
