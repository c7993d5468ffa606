//===- TrainingTest.cpp - The pieces of `nabla train` ----------------------===//
//
// The optimizer's update and the step variants as IR, checkpoints, plot
// ticks and durations. The optimizers' numbers are checked against
// torch.optim by tests/oracle/check_optimizers.py.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lower.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Interpreter.h"
#include "ir/Shapes.h"
#include "ir/Verifier.h"
#include "passes/Adjoint.h"
#include "passes/OptimizerUpdate.h"
#include "passes/StepVariants.h"
#include "training/Checkpoint.h"
#include "training/Plot.h"
#include "training/Progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace nabla {
namespace {

using namespace ir;

const char *kScript = R"(
input x: [B, 3]
input y: i32[B]
param W: [3, 2]
param b: [2]
z = x @ W + b
output probs = softmax(z)
metric acc = accuracy(z, y)
loss cross_entropy(z, y)
metric zmax = max(z)
)";

struct Compiled {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  std::unique_ptr<Module> module;
  const Function *trainStep = nullptr;
};

std::unique_ptr<Compiled> compile() {
  auto c = std::make_unique<Compiled>();
  auto ast = parseModule(c->sources, c->sources.addBuffer("t.nn", kScript), c->diags);
  auto program = analyze(*ast, c->sources, c->diags, SemaOptions{});
  EXPECT_FALSE(c->diags.hasErrors());
  c->module = lower(*program, c->diags);
  c->trainStep = passes::differentiate(*c->module, *c->module->lookup(kForwardFunction),
                                       kTrainStepFunction, c->diags);
  EXPECT_TRUE(c->trainStep);
  return c;
}

std::vector<std::string> argumentNames(const Function &fn, ArgRole role) {
  std::vector<std::string> names;
  for (const Argument *a : fn.arguments(role))
    names.push_back(a->value.name);
  return names;
}

std::vector<std::string> resultNames(const Function &fn) {
  std::vector<std::string> names;
  for (const Result &r : fn.results)
    names.push_back(std::string(roleName(r.role)) + (r.name.empty() ? "" : " " + r.name));
  return names;
}

TEST(OptimizerUpdate, StateAndResultsPerOptimizer) {
  using Kind = OptimizerConfig::Kind;
  struct Expected {
    OptimizerConfig config;
    std::vector<std::string> state;
  };
  OptimizerConfig sgd, momentum, adam, adamw, rmsprop;
  sgd.kind = Kind::Sgd;
  momentum.kind = Kind::Sgd;
  momentum.momentum = 0.9;
  adam.kind = Kind::Adam;
  adamw.kind = Kind::AdamW;
  rmsprop.kind = Kind::RmsProp;
  for (const Expected &e : std::vector<Expected>{
           {sgd, {}},
           {momentum, {"momentum.W", "momentum.b"}},
           {adam, {"step", "exp_avg.W", "exp_avg_sq.W", "exp_avg.b", "exp_avg_sq.b"}},
           {adamw, {"step", "exp_avg.W", "exp_avg_sq.W", "exp_avg.b", "exp_avg_sq.b"}},
           {rmsprop, {"square_avg.W", "square_avg.b"}}}) {
    auto c = compile();
    Function *update = passes::appendOptimizer(*c->module, *c->trainStep, e.config, c->diags);
    ASSERT_TRUE(update);
    EXPECT_TRUE(verify(*update, c->diags, "test"));
    EXPECT_EQ(argumentNames(*update, ArgRole::State), e.state) << optimizerName(e.config.kind);
    // The loss first, then the metrics, then the new params and state; no
    // outputs or gradients.
    std::vector<std::string> expected = {"loss", "metric acc", "metric zmax"};
    std::vector<std::string> actual = resultNames(*update);
    ASSERT_GE(actual.size(), 3u);
    EXPECT_EQ(std::vector<std::string>(actual.begin(), actual.begin() + 3), expected);
    size_t updates = 0, states = 0;
    for (const Result &r : update->results) {
      updates += r.role == ResultRole::Update;
      states += r.role == ResultRole::State;
    }
    EXPECT_EQ(updates, 2u);
    EXPECT_EQ(states, e.state.size());
  }
}

/// Runs `fn` on the interpreter with arguments found by name.
std::vector<Tensor> runByName(const Function &fn, const std::map<std::string, Tensor> &values,
                              DiagnosticEngine &diags) {
  std::vector<const Tensor *> args;
  for (const auto &a : fn.args)
    args.push_back(&values.at(a->value.name));
  auto results = Interpreter(diags).run(fn, args, {{"B", 4}});
  EXPECT_TRUE(results);
  return results ? std::move(*results) : std::vector<Tensor>{};
}

// The update alone (what data-parallel ranks apply to summed gradients) on
// the gradients of @train_step computes exactly what the fused update does.
TEST(OptimizerUpdate, ApplyingGivenGradientsEqualsTheFusedUpdate) {
  using Kind = OptimizerConfig::Kind;
  OptimizerConfig momentum, adam, adamw, rmsprop;
  momentum.kind = Kind::Sgd;
  momentum.momentum = 0.9;
  momentum.weightDecay = 0.01;
  adam.kind = Kind::Adam;
  adamw.kind = Kind::AdamW;
  adamw.weightDecay = 0.1;
  rmsprop.kind = Kind::RmsProp;
  for (const OptimizerConfig &config : {momentum, adam, adamw, rmsprop}) {
    auto c = compile();
    Function *fused = passes::appendOptimizer(*c->module, *c->trainStep, config, c->diags);
    Function *apply =
        passes::applyGradients(*c->module, *c->trainStep, config, c->diags, "apply_gradients");
    ASSERT_TRUE(fused && apply);
    EXPECT_TRUE(verify(*apply, c->diags, "test"));
    EXPECT_EQ(argumentNames(*apply, ArgRole::Input),
              (std::vector<std::string>{"grad.W", "grad.b"}));
    EXPECT_EQ(argumentNames(*apply, ArgRole::State), argumentNames(*fused, ArgRole::State));
    // Values: inputs, params and state (as after a few steps) from a seed.
    std::map<std::string, Tensor> values;
    uint64_t seed = 7;
    for (const auto &a : fused->args) {
      std::vector<int64_t> shape = a->value.type.shape.empty() ? std::vector<int64_t>{}
                                   : a->value.name == "x"      ? std::vector<int64_t>{4, 3}
                                   : a->value.name == "y"      ? std::vector<int64_t>{4}
                                                          : *concreteShape(a->value.type.shape, {});
      Tensor t(a->value.type.dtype, shape);
      for (int64_t i = 0; i < t.numel(); ++i) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        double u = double(seed >> 11) / double(1ull << 53);
        t.set(i, a->value.name == "y"      ? double(int(u * 2))
                 : a->value.name == "step" ? 3.0
                 : a->value.name.rfind("exp_avg_sq", 0) == 0 ||
                         a->value.name.rfind("square_avg", 0) == 0
                     ? u
                     : 2 * u - 1);
      }
      values.emplace(a->value.name, std::move(t));
    }
    std::vector<Tensor> expected = runByName(*fused, values, c->diags);
    std::vector<Tensor> grads = runByName(*c->trainStep, values, c->diags);
    for (size_t i = 0; i < c->trainStep->results.size(); ++i)
      if (c->trainStep->results[i].role == ResultRole::Grad)
        values.emplace(passes::kGradInputPrefix + c->trainStep->results[i].name,
                       std::move(grads[i]));
    std::vector<Tensor> actual = runByName(*apply, values, c->diags);
    size_t compared = 0;
    for (size_t i = 0; i < apply->results.size(); ++i) {
      const Result &r = apply->results[i];
      if (r.role != ResultRole::Update && r.role != ResultRole::State)
        continue;
      for (size_t k = 0; k < fused->results.size(); ++k)
        if (fused->results[k].role == r.role && fused->results[k].name == r.name) {
          ++compared;
          ASSERT_EQ(actual[i].numel(), expected[k].numel());
          for (int64_t e = 0; e < actual[i].numel(); ++e)
            EXPECT_EQ(actual[i].get(e), expected[k].get(e))
                << optimizerName(config.kind) << " " << r.name << "[" << e << "]";
        }
    }
    EXPECT_EQ(compared, 2 + argumentNames(*fused, ArgRole::State).size());
  }
}

TEST(StepVariants, EvaluationAndPredictionDropWhatTheyDoNotNeed) {
  auto c = compile();
  const Function &forward = *c->module->lookup(kForwardFunction);
  Function *evaluate = passes::addStepVariant(*c->module, forward, passes::kEvaluateFunction,
                                              {ResultRole::Loss, ResultRole::Metric});
  EXPECT_TRUE(verify(*evaluate, c->diags, "test"));
  EXPECT_EQ(resultNames(*evaluate),
            (std::vector<std::string>{"loss", "metric acc", "metric zmax"}));
  Function *predict =
      passes::addStepVariant(*c->module, forward, passes::kPredictFunction, {ResultRole::Output});
  EXPECT_TRUE(verify(*predict, c->diags, "test"));
  EXPECT_EQ(resultNames(*predict), (std::vector<std::string>{"output probs"}));
  // The labels only fed the loss and the metrics.
  EXPECT_EQ(argumentNames(*predict, ArgRole::Input), (std::vector<std::string>{"x"}));
  EXPECT_LT(predict->ops.size(), forward.ops.size());
  for (const auto &op : predict->ops)
    EXPECT_NE(op->kind, OpKind::CrossEntropy);
}

TEST(Checkpoint, RoundTripsParamsStateAndProgress) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("nabla-checkpoint-" + std::to_string(::getpid()) + ".safetensors"))
                         .string();
  Tensor w(DType::F32, {2, 2}), m(DType::F32, {2, 2}), step(DType::F32, {});
  for (int i = 0; i < 4; ++i) {
    w.set(i, i + 0.5);
    m.set(i, -i);
  }
  step.set(0, 7);
  std::string error;
  ASSERT_TRUE(
      saveCheckpoint(path, {{"W", &w}}, {{"exp_avg.W", &m}, {"step", &step}}, 3, "adam", error))
      << error;
  auto c = loadCheckpoint(path, error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->epochs, 3);
  EXPECT_EQ(c->optimizer, "adam");
  ASSERT_EQ(c->params.size(), 1u);
  EXPECT_EQ(c->params[0].first, "W");
  EXPECT_EQ(c->params[0].second.get(3), 3.5);
  ASSERT_EQ(c->state.size(), 2u);
  EXPECT_EQ(c->state[0].first, "exp_avg.W");
  EXPECT_EQ(c->state[0].second.get(2), -2);
  EXPECT_EQ(c->state[1].first, "step");
  // A file of params only: no state, no epochs.
  ASSERT_TRUE(writeSafetensors(path, {{"W", &w}}, error)) << error;
  auto plain = loadCheckpoint(path, error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->epochs, 0);
  EXPECT_EQ(plain->optimizer, "");
  EXPECT_TRUE(plain->state.empty());
  std::filesystem::remove(path);
}

TEST(Plot, TicksAreRoundNumbersCoveringTheRange) {
  EXPECT_EQ(niceTicks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{
           {0.2311, 0.9172}, {1, 5000}, {-3, 0.01}, {0.88, 0.8801}, {2, 2}}) {
    std::vector<double> t = niceTicks(lo, hi, 5);
    ASSERT_GE(t.size(), 2u) << lo << " " << hi;
    double step = t[1] - t[0];
    EXPECT_LE(t.front(), lo + step * 1e-6);
    EXPECT_GE(t.back(), hi - step * 1e-6);
    EXPECT_LE(t.size(), 12u);
    double mantissa = step / std::pow(10, std::floor(std::log10(step)));
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-6 || std::fabs(mantissa - 2) < 1e-6 ||
                std::fabs(mantissa - 5) < 1e-6)
        << step;
  }
}

TEST(Plot, SvgHasAPanelPerSeriesAndEscapesNames) {
  std::vector<Series> series = {{"loss", {1, 0.5, 0.25}, {1.1, 0.6, 0.4}},
                                {"a<b", {0.1, 0.2, 0.3}, {}}};
  std::string svg = plotSvg(series, "t & u");
  EXPECT_EQ(svg.find("<svg"), svg.find("\n") + 1);
  size_t panels = 0;
  for (size_t at = svg.find("class=\"panel\""); at != std::string::npos;
       at = svg.find("class=\"panel\"", at + 1))
    ++panels;
  EXPECT_EQ(panels, 2u);
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_NE(svg.find("t &amp; u"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  EXPECT_NE(svg.find("class=\"test\""), std::string::npos);
}

TEST(Progress, DurationsReadAsClockTimes) {
  EXPECT_EQ(formatDuration(0), "0:00");
  EXPECT_EQ(formatDuration(65.4), "1:05");
  EXPECT_EQ(formatDuration(3723), "1:02:03");
  EXPECT_EQ(formatDuration(NAN), "0:00");
  EXPECT_EQ(formatDuration(-5), "0:00");
}

} // namespace
} // namespace nabla
