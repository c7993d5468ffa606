//===- InterpreterTest.cpp - Hand-computed results ------------------------===//
//
// Small cases whose answers are worked out by hand; tests/oracle compares
// every builtin with PyTorch.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"
#include "ir/Parser.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nabla::ir {
namespace {

struct Evaluated {
  std::vector<Tensor> results;
  std::string errors;
};

Evaluated run(const std::string &ir, std::vector<Tensor> args, SymbolBindings bindings = {}) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("t.nnir", ir), diags);
  Evaluated r;
  if (module) {
    std::vector<const Tensor *> pointers;
    for (const Tensor &t : args)
      pointers.push_back(&t);
    if (auto out = Interpreter(diags).run(*module->lookup("forward"), pointers, bindings))
      r.results = std::move(*out);
  }
  for (const Diagnostic *d : diags.sorted())
    r.errors += d->message + "\n";
  return r;
}

Tensor tensor(DType dtype, std::vector<int64_t> shape, std::vector<double> values) {
  Tensor t(dtype, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i)
    t.set(int64_t(i), values[i]);
  return t;
}

TEST(Interpreter, SoftmaxAndCrossEntropy) {
  // softmax([0, ln 2, ln 5]) = [1, 2, 5] / 8; cross-entropy of class 2 = -ln(5/8).
  Evaluated r = run(R"(func @forward {
  input %z : f64[1, 3]
  input %y : i32[1]
  %p = softmax %z {axis = 1} : f64[1, 3]
  %l = cross_entropy %z, %y : f64[]
  output p = %p
  loss = %l
})",
                    [] {
                      std::vector<Tensor> a;
                      a.push_back(tensor(DType::F64, {1, 3}, {0, std::log(2.0), std::log(5.0)}));
                      a.push_back(tensor(DType::I32, {1}, {2}));
                      return a;
                    }());
  ASSERT_EQ(r.errors, "");
  EXPECT_NEAR(r.results[0].get(0), 1.0 / 8, 1e-15);
  EXPECT_NEAR(r.results[0].get(2), 5.0 / 8, 1e-15);
  EXPECT_NEAR(r.results[1].get(0), -std::log(5.0 / 8), 1e-15);
}

TEST(Interpreter, MatmulTransposesAndBroadcast) {
  // [[1, 2], [3, 4]]^T @ [[1], [1]] = [[4], [6]], then broadcast to [2, 3].
  std::vector<Tensor> args;
  args.push_back(tensor(DType::F32, {2, 2}, {1, 2, 3, 4}));
  args.push_back(tensor(DType::F32, {2, 1}, {1, 1}));
  Evaluated r = run(R"(func @forward {
  input %a : f32[2, 2]
  input %b : f32[2, 1]
  %c = matmul %a, %b {transpose_a = true} : f32[2, 1]
  %d = broadcast %c : f32[2, 3]
  output d = %d
})",
                    std::move(args));
  ASSERT_EQ(r.errors, "");
  std::vector<double> expected = {4, 4, 4, 6, 6, 6};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(r.results[0].get(i), expected[i]);
}

TEST(Interpreter, ReductionsOverAxesWithSymbolicSizes) {
  std::vector<Tensor> args;
  args.push_back(tensor(DType::F64, {2, 3}, {1, 5, 3, 4, 2, 6}));
  Evaluated r = run(R"(func @forward {
  input %x : f64[B, 3]
  %s = reduce_sum %x {axes = [0], keepdims = true} : f64[1, 3]
  %m = reduce_max %x {axes = [1]} : f64[B]
  %l = logsumexp %x {axes = [0, 1]} : f64[]
  %n = dim_size {dim = 3*B} : f64[]
  output s = %s
  output m = %m
  output l = %l
  output n = %n
})",
                    std::move(args), {{"B", 2}});
  ASSERT_EQ(r.errors, "");
  EXPECT_EQ(r.results[0].get(1), 7);
  EXPECT_EQ(r.results[1].get(0), 5);
  EXPECT_EQ(r.results[1].get(1), 6);
  double lse =
      std::log(std::exp(1) + std::exp(5) + std::exp(3) + std::exp(4) + std::exp(2) + std::exp(6));
  EXPECT_NEAR(r.results[2].get(0), lse, 1e-13);
  EXPECT_EQ(r.results[3].get(0), 6);
}

TEST(Interpreter, F32ResultsAreRoundedEveryOp) {
  // 1 + 1e-8 is 1 in f32; the interpreter must not carry the double.
  std::vector<Tensor> args;
  args.push_back(tensor(DType::F32, {}, {1}));
  Evaluated r = run(R"(func @forward {
  input %x : f32[]
  %e = constant {value = 1e-8} : f32[]
  %a = add %x, %e : f32[]
  %b = sub %a, %x : f32[]
  output b = %b
})",
                    std::move(args));
  ASSERT_EQ(r.errors, "");
  EXPECT_EQ(r.results[0].get(0), 0.0);
}

TEST(Interpreter, LabelsOutOfRangeAreErrors) {
  std::vector<Tensor> args;
  args.push_back(tensor(DType::I32, {2}, {1, 3}));
  Evaluated r = run(R"(func @forward {
  input %y : i32[2]
  %h = one_hot %y {classes = 3} : f32[2, 3]
  output h = %h
})",
                    std::move(args));
  EXPECT_EQ(r.errors, "one_hot: label 3 at position 1 is outside [0, 3)\n");
}

TEST(Interpreter, ConvolutionAndPooling) {
  // A 3x3 image 1..9, a 2x2 kernel of ones: sums of each 2x2 window.
  std::vector<Tensor> args;
  args.push_back(tensor(DType::F64, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  args.push_back(tensor(DType::F64, {1, 1, 2, 2}, {1, 1, 1, 1}));
  Evaluated r = run(R"(func @forward {
  input %x : f64[1, 1, 3, 3]
  input %w : f64[1, 1, 2, 2]
  %c = conv2d %x, %w : f64[1, 1, 2, 2]
  %p = conv2d %x, %w {stride = [2, 2], padding = [1, 1]} : f64[1, 1, 2, 2]
  %m = max_pool2d %x {window = [2, 2], stride = [1, 1]} : f64[1, 1, 2, 2]
  %a = avg_pool2d %x {window = [3, 3], stride = [3, 3]} : f64[1, 1, 1, 1]
  output c = %c
  output p = %p
  output m = %m
  output a = %a
})",
                    std::move(args));
  ASSERT_EQ(r.errors, "");
  std::vector<double> c = {12, 16, 24, 28}, p = {1, 5, 11, 28}, m = {5, 6, 8, 9};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r.results[0].get(i), c[i]);
    EXPECT_EQ(r.results[1].get(i), p[i]);
    EXPECT_EQ(r.results[2].get(i), m[i]);
  }
  EXPECT_EQ(r.results[3].get(0), 5);
}

} // namespace
} // namespace nabla::ir
