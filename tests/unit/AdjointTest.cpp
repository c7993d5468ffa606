//===- AdjointTest.cpp - Gradients against finite differences -------------===//
//
// Every op with a gradient is differentiated in a function whose loss is
// sum(op(params) * w), w a fixed random weighting, and the adjoint pass's
// gradients are compared with five-point central differences in f64 at
// random points away from kinks. A Hessian-vector product checks that the
// pass applies to its own output. The conventions of the spec (relu'(0) = 0,
// ties split evenly, where never leaks NaN) are checked exactly.
//
//===----------------------------------------------------------------------===//
#include "passes/Adjoint.h"
#include "OpCases.h"
#include "ir/Clone.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/AdjointRules.h"
#include "passes/SecondOrder.h"
#include "support/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace nabla::passes {
namespace {

using namespace ir;

TEST(AdjointRules, EveryOpWithAGradientHasARule) {
  for (unsigned i = 0; i < opCount(); ++i) {
    OpKind kind = OpKind(i);
    // Loops are differentiated by passes/ScanAdjoint.h, not by a rule.
    if (familyOf(kind) == OpFamily::Loop)
      EXPECT_EQ(adjointRule(kind), nullptr) << opInfo(kind).name;
    else if (hasTrait(kind, kNoGrad))
      EXPECT_EQ(adjointRule(kind), nullptr) << opInfo(kind).name << " has no gradient";
    else
      EXPECT_NE(adjointRule(kind), nullptr) << "no adjoint rule for " << opInfo(kind).name;
  }
}

/// Parsed functions, tensors for their arguments, and evaluation helpers.
class Harness {
public:
  explicit Harness(const std::string &text) : diags_(sources_) {
    module_ = parseIR(sources_, sources_.addBuffer("case.nnir", text), diags_);
  }
  bool ok() const { return module_ != nullptr; }
  std::string errors() {
    std::string all;
    for (const Diagnostic *d : diags_.sorted())
      all += diags_.format(*d);
    return all;
  }
  Module &module() { return *module_; }
  DiagnosticEngine &diags() { return diags_; }
  SourceManager &sources() { return sources_; }

  /// Draws every argument of `fn`.
  void draw(const Function &fn, const std::map<std::string, Domain> &domains, uint64_t seed) {
    args_ = drawArguments(fn, domains, seed);
  }
  std::vector<Tensor> &args() { return args_; }

  std::optional<std::vector<Tensor>> run(const Function &fn) {
    std::vector<const Tensor *> pointers;
    for (const Tensor &t : args_)
      pointers.push_back(&t);
    return Interpreter(diags_).run(fn, pointers, {});
  }

private:
  SourceManager sources_;
  DiagnosticEngine diags_;
  std::unique_ptr<Module> module_;
  std::vector<Tensor> args_;
};

double lossOf(Harness &h, const Function &fn) {
  auto results = h.run(fn);
  EXPECT_TRUE(results) << h.errors();
  for (size_t i = 0; i < fn.results.size(); ++i)
    if (fn.results[i].role == ResultRole::Loss)
      return (*results)[i].get(0);
  return NAN;
}

/// The five-point central difference of the loss along coordinate i of arg p.
double numericGradient(Harness &h, const Function &fn, size_t p, int64_t i) {
  double *x = h.args()[p].data<double>() + i;
  double step = 1e-4 * std::max(1.0, std::fabs(*x)), saved = *x, f[4];
  const double offsets[4] = {-2, -1, 1, 2};
  for (int k = 0; k < 4; ++k) {
    *x = saved + offsets[k] * step;
    f[k] = lossOf(h, fn);
  }
  *x = saved;
  return (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * step);
}

/// The function of case `c` with the loss sum(%y * %w), w an input (a fixed
/// random weighting, so that every element of %y counts differently).
std::string weightedLoss(const Case &c) {
  // Find %y's type: the case declares it last.
  std::string text = "func @forward {\n" + c.body;
  std::string type = resultTypeOf(c.body);
  text += "  input %w : " + type + "\n  %yw = mul %y, %w : " + type + "\n";
  std::string axes;
  size_t rank =
      type.find("[]") != std::string::npos ? 0 : std::count(type.begin(), type.end(), ',') + 1;
  for (size_t d = 0; d < rank; ++d)
    axes += (d ? ", " : "") + std::to_string(d);
  text += "  %l = reduce_sum %yw {axes = [" + axes + "]} : f64[]\n  loss = %l\n}\n";
  return text;
}

void checkAgainstFiniteDifferences(const Case &c) {
  SCOPED_TRACE(c.name);
  std::string text = weightedLoss(c);
  Harness h(text);
  ASSERT_TRUE(h.ok()) << h.errors() << text;
  const Function &forward = *h.module().lookup("forward");
  Function *step = differentiate(h.module(), forward, "train_step", h.diags());
  ASSERT_TRUE(step) << h.errors();
  ASSERT_TRUE(verify(*step, h.diags(), "the adjoint pass")) << h.errors();
  std::map<std::string, Domain> domains(c.domains.begin(), c.domains.end());
  h.draw(forward, domains, 42);
  auto results = h.run(*step);
  ASSERT_TRUE(results) << h.errors();
  int checkedParams = 0;
  for (size_t p = 0; p < forward.args.size(); ++p) {
    const Argument &arg = *forward.args[p];
    if (arg.role != ArgRole::Param)
      continue;
    ++checkedParams;
    const Tensor *grad = nullptr;
    for (size_t r = 0; r < step->results.size(); ++r)
      if (step->results[r].role == ResultRole::Grad && step->results[r].name == arg.value.name)
        grad = &(*results)[r];
    ASSERT_TRUE(grad);
    for (int64_t i = 0; i < grad->numel(); ++i) {
      double analytic = grad->get(i), numeric = numericGradient(h, forward, p, i);
      EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::fabs(numeric)))
          << arg.value.name << "[" << i << "]";
    }
  }
  EXPECT_GT(checkedParams, 0);
}

class OpGradient : public ::testing::TestWithParam<Case> {};

TEST_P(OpGradient, MatchesFiniteDifferences) { checkAgainstFiniteDifferences(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Ops, OpGradient, ::testing::ValuesIn(differentiableCases()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return info.param.name;
                         });

TEST(OpGradient, EveryDifferentiableOpIsCovered) {
  std::set<std::string> covered;
  for (const Case &c : differentiableCases()) {
    size_t eq = c.body.rfind("%y = ");
    std::string op = c.body.substr(eq + 5);
    covered.insert(op.substr(0, op.find(' ')));
  }
  for (unsigned i = 0; i < opCount(); ++i)
    // scan_grad has no gradient of its own (SecondDerivativeThroughAScan...).
    if (!hasTrait(OpKind(i), kNoGrad) && OpKind(i) != OpKind::ScanGrad)
      EXPECT_TRUE(covered.count(std::string(opInfo(OpKind(i)).name)))
          << "no gradient test for " << opInfo(OpKind(i)).name;
}

/// Whether the case's op is a loop, whose gradient cannot be differentiated
/// again.
bool isLoopCase(const Case &c) { return c.body.find("= scan ") != std::string::npos; }

TEST(OpGradient, SecondDerivativeThroughAScanIsAnErrorAtTheScan) {
  for (const Case &c : differentiableCases()) {
    if (!isLoopCase(c))
      continue;
    Harness h(weightedLoss(c));
    ASSERT_TRUE(h.ok()) << h.errors();
    Function *step = differentiate(h.module(), *h.module().lookup("forward"), "s", h.diags());
    ASSERT_TRUE(step) << h.errors();
    EXPECT_FALSE(addHessianVectorProduct(h.module(), *step, "hvp", h.diags()));
    EXPECT_NE(h.errors().find("a second derivative through a scan is not supported"),
              std::string::npos)
        << h.errors();
  }
}

/// Runs the train step of `body` (which defines %l) at the given param values.
std::vector<double> gradientAt(const std::string &body, const std::vector<double> &a) {
  Harness h("func @forward {\n  param %a : f64[" + std::to_string(a.size()) + "]\n" + body +
            "  loss = %l\n}\n");
  EXPECT_TRUE(h.ok()) << h.errors();
  Function *step = differentiate(h.module(), *h.module().lookup("forward"), "s", h.diags());
  h.draw(*step, {}, 1);
  for (size_t i = 0; i < a.size(); ++i)
    h.args()[0].set(int64_t(i), a[i]);
  auto results = h.run(*step);
  EXPECT_TRUE(results) << h.errors();
  std::vector<double> g;
  for (int64_t i = 0; i < results->back().numel(); ++i)
    g.push_back(results->back().get(i));
  return g;
}

TEST(Conventions, KinksHaveThePyTorchValues) {
  // relu'(0) = 0, abs'(0) = 0, sqrt'(0) = inf.
  EXPECT_EQ(
      gradientAt("  %r = relu %a : f64[2]\n  %l = reduce_sum %r {axes = [0]} : f64[]\n", {0, 2}),
      (std::vector<double>{0, 1}));
  EXPECT_EQ(
      gradientAt("  %r = abs %a : f64[2]\n  %l = reduce_sum %r {axes = [0]} : f64[]\n", {0, -2}),
      (std::vector<double>{0, -1}));
  std::vector<double> s =
      gradientAt("  %r = sqrt %a : f64[2]\n  %l = reduce_sum %r {axes = [0]} : f64[]\n", {0, 4});
  EXPECT_TRUE(std::isinf(s[0]) && s[0] > 0);
  EXPECT_EQ(s[1], 0.25);
}

TEST(Conventions, TiesSplitTheGradientEvenly) {
  // max over [3, 3, 1]: the two maxima get 1/2 each.
  EXPECT_EQ(gradientAt("  %l = reduce_max %a {axes = [0]} : f64[]\n", {3, 3, 1}),
            (std::vector<double>{0.5, 0.5, 0}));
  EXPECT_EQ(gradientAt("  %l = reduce_min %a {axes = [0]} : f64[]\n", {1, 3, 1}),
            (std::vector<double>{0.5, 0, 0.5}));
  // maximum(a, b) with a = b: each side gets half.
  EXPECT_EQ(gradientAt("  %b = constant {value = 2} : f64[2]\n  %m = max %a, %b : f64[2]\n"
                       "  %l = reduce_sum %m {axes = [0]} : f64[]\n",
                       {2, 5}),
            (std::vector<double>{0.5, 1}));
}

TEST(Conventions, WhereKeepsTheOtherBranchOutOfTheGradient) {
  // where(a > 0, 2 sqrt(a), a^2) at a = -1, 0, 4: sqrt(-1) is NaN and
  // sqrt'(0) is inf in the branch not chosen; neither may reach the gradient.
  std::string body = "  %z = constant {value = 0} : f64[3]\n"
                     "  %m = gt %a, %z : f64[3]\n"
                     "  %s = sqrt %a : f64[3]\n"
                     "  %two = constant {value = 2} : f64[3]\n"
                     "  %s2 = mul %s, %two : f64[3]\n"
                     "  %sq = mul %a, %a : f64[3]\n"
                     "  %w = select %m, %s2, %sq : f64[3]\n"
                     "  %l = reduce_sum %w {axes = [0]} : f64[]\n";
  // d/da a^2 = 2a at -1 and 0; d/da 2 sqrt(a) = 1/sqrt(a) at 4.
  EXPECT_EQ(gradientAt(body, {-1, 0, 4}), (std::vector<double>{-2, 0, 0.5}));
}

TEST(Conventions, NothingFlowsThroughNoGradientOps) {
  // stop_gradient, comparisons and argmax block the gradient.
  EXPECT_EQ(gradientAt("  %s = stop_gradient %a : f64[2]\n  %p = mul %s, %a : f64[2]\n"
                       "  %l = reduce_sum %p {axes = [0]} : f64[]\n",
                       {3, 5}),
            (std::vector<double>{3, 5}));
}

TEST(Adjoint, MissingLossIsAnError) {
  Harness h("func @forward {\n  param %a : f64[2]\n  %e = exp %a : f64[2]\n  output e = %e\n}\n");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(differentiate(h.module(), *h.module().lookup("forward"), "s", h.diags()), nullptr);
  EXPECT_NE(h.errors().find("the script has no 'loss'"), std::string::npos);
}

TEST(Adjoint, ParamsTheLossIgnoresGetZeroGradients) {
  std::vector<double> g =
      gradientAt("  %c = constant {value = 7} : f64[]\n  %l = add %c, %c : f64[]\n", {1, 2});
  EXPECT_EQ(g, (std::vector<double>{0, 0}));
}

TEST(Adjoint, BackwardOpsCarryTheForwardSourcePositions) {
  Harness h(R"(func @forward {
  param %a : f64[2] loc("net.nn":1:7)
  %e = exp %a : f64[2] loc("net.nn":2:5)
  %l = reduce_sum %e {axes = [0]} : f64[] loc("net.nn":3:6)
  loss = %l
})");
  ASSERT_TRUE(h.ok()) << h.errors();
  Function *step = differentiate(h.module(), *h.module().lookup("forward"), "s", h.diags());
  ASSERT_TRUE(step);
  std::set<uint32_t> lines;
  for (size_t i = 2; i < step->ops.size(); ++i)
    lines.insert(step->ops[i]->loc.line);
  EXPECT_EQ(lines, (std::set<uint32_t>{2, 3}));
}

/// Checks the Hessian-vector product of `forward`'s loss (the adjoint pass
/// applied to its own output, passes/SecondOrder.h) against the five-point
/// difference of the step's gradients along the direction v, at arguments
/// drawn with `domains`. Returns the number of elements checked.
int checkHessianVectorProduct(Harness &h, const Function &forward,
                              const std::map<std::string, Domain> &domains, uint64_t seed) {
  Function *step = differentiate(h.module(), forward, "step", h.diags());
  EXPECT_TRUE(step) << h.errors();
  if (!step)
    return 0;
  Function *hvp = addHessianVectorProduct(h.module(), *step, "hvp", h.diags());
  EXPECT_TRUE(hvp && verify(*hvp, h.diags(), "differentiating twice")) << h.errors();
  if (!hvp)
    return 0;
  h.draw(*hvp, domains, seed);
  auto results = h.run(*hvp);
  EXPECT_TRUE(results) << h.errors();
  if (!results)
    return 0;
  // hvp's arguments: the step's, then one direction per param, in order.
  std::vector<Tensor> &args = h.args();
  std::vector<size_t> params;
  for (size_t i = 0; i < step->args.size(); ++i)
    if (step->args[i]->role == ArgRole::Param)
      params.push_back(i);
  auto gradients = [&](double eps) {
    for (size_t p = 0; p < params.size(); ++p) {
      Tensor &param = args[params[p]];
      const Tensor &v = args[step->args.size() + p];
      for (int64_t i = 0; i < param.numel(); ++i)
        param.set(i, param.get(i) + eps * v.get(i));
    }
    std::vector<const Tensor *> pointers;
    for (size_t i = 0; i < step->args.size(); ++i)
      pointers.push_back(&args[i]);
    auto r = Interpreter(h.diags()).run(*step, pointers, {});
    for (size_t p = 0; p < params.size(); ++p) {
      Tensor &param = args[params[p]];
      const Tensor &v = args[step->args.size() + p];
      for (int64_t i = 0; i < param.numel(); ++i)
        param.set(i, param.get(i) - eps * v.get(i));
    }
    return std::move(*r);
  };
  double e = 1e-4;
  auto m2 = gradients(-2 * e), m1 = gradients(-e), p1 = gradients(e), p2 = gradients(2 * e);
  int checked = 0;
  for (size_t r = 0; r < hvp->results.size(); ++r) {
    EXPECT_EQ(hvp->results[r].role, ResultRole::Grad);
    size_t k = 0; // the step's gradient of the same param
    while (step->results[k].role != ResultRole::Grad ||
           step->results[k].name != hvp->results[r].name)
      ++k;
    for (int64_t i = 0; i < (*results)[r].numel(); ++i) {
      double numeric =
          (m2[k].get(i) - 8 * m1[k].get(i) + 8 * p1[k].get(i) - p2[k].get(i)) / (12 * e);
      EXPECT_NEAR((*results)[r].get(i), numeric, 1e-6 * std::max(1.0, std::fabs(numeric)))
          << hvp->results[r].name << "[" << i << "]";
      ++checked;
    }
  }
  return checked;
}

/// A Hessian-vector product through a small network.
TEST(Adjoint, DifferentiatesItsOwnOutput) {
  const char *network = R"(func @forward {
  input %x : f64[4, 3]
  input %t : i32[4]
  param %W : f64[3, 5]
  param %V : f64[5, 3]
  %h = matmul %x, %W : f64[4, 5]
  %a = tanh %h : f64[4, 5]
  %z = matmul %a, %V : f64[4, 3]
  %s = softplus %z : f64[4, 3]
  %l = cross_entropy %s, %t : f64[]
  loss = %l
})";
  Harness h(network);
  ASSERT_TRUE(h.ok()) << h.errors();
  EXPECT_EQ(checkHessianVectorProduct(h, *h.module().lookup("forward"), {{"t", Domain::Labels}}, 7),
            15 + 15);
}

/// Every op's gradient rule differentiated again: the adjoint pass is closed
/// under itself, and each rule is right when its inputs are derivatives.
class OpSecondDerivative : public ::testing::TestWithParam<Case> {};

TEST_P(OpSecondDerivative, MatchesFiniteDifferencesOfTheGradient) {
  const Case &c = GetParam();
  Harness h(weightedLoss(c));
  ASSERT_TRUE(h.ok()) << h.errors();
  std::map<std::string, Domain> domains(c.domains.begin(), c.domains.end());
  EXPECT_GT(checkHessianVectorProduct(h, *h.module().lookup("forward"), domains, 42), 0);
}

std::vector<Case> casesWithSecondDerivatives() {
  std::vector<Case> cases;
  for (const Case &c : differentiableCases())
    if (!isLoopCase(c))
      cases.push_back(c);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpSecondDerivative, ::testing::ValuesIn(casesWithSecondDerivatives()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return info.param.name;
                         });

} // namespace
} // namespace nabla::passes
