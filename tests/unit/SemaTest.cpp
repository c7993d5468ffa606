//===- SemaTest.cpp - Names, dtypes, shapes and train settings ------------===//
//
// The expected types here come from the rules of the language (NumPy
// broadcasting, PyTorch's conv2d output size, ...) worked out by hand.
//
//===----------------------------------------------------------------------===//
#include "frontend/Sema.h"
#include "frontend/Parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace nabla {
namespace {

struct Checked {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  std::unique_ptr<ast::Module> module;
  std::unique_ptr<Program> program;
  std::string errors;

  /// The type of the value bound to `name`, or "<none>".
  std::string type(const std::string &name) const {
    for (const auto &n : program->nodes)
      if (n->name == name)
        return n->type.str();
    return "<none>";
  }
  const Node *node(const std::string &name) const {
    for (const auto &n : program->nodes)
      if (n->name == name)
        return n.get();
    return nullptr;
  }
};

std::unique_ptr<Checked> check(const std::string &text, SemaOptions options = {}) {
  auto c = std::make_unique<Checked>();
  uint32_t file = c->sources.addBuffer("t.nn", text);
  c->module = parseModule(c->sources, file, c->diags);
  c->program = analyze(*c->module, c->sources, c->diags, options);
  for (const Diagnostic *d : c->diags.sorted())
    c->errors += c->diags.format(*d);
  return c;
}

const char *kDecls = R"(
input x: [B, 784]
input img: [B, 1, 28, 28]
input y: i32[B]
input a: [B, 3]
input b: [B, 4]
input v: [4]
input s: []
input d: f64[B, 3]
param W: [784, 10]
param M: [4, 5]
param K: [32, 1, 3, 3]
)";

/// The type of `expr` evaluated after kDecls.
std::string typeOf(const std::string &expr, SemaOptions options = {}) {
  auto c = check(std::string(kDecls) + "r = " + expr + "\n", options);
  if (!c->errors.empty())
    return "error: " + c->errors;
  return c->type("r");
}

TEST(Sema, ElementwiseAndBroadcasting) {
  EXPECT_EQ(typeOf("relu(x)"), "f32[B, 784]");
  EXPECT_EQ(typeOf("x + 1"), "f32[B, 784]");
  EXPECT_EQ(typeOf("2 * s"), "f32[]");
  EXPECT_EQ(typeOf("a * s"), "f32[B, 3]");
}

TEST(Sema, BroadcastingAlignsTrailingAxes) {
  EXPECT_NE(typeOf("v - M").find("error"), std::string::npos);
  EXPECT_EQ(typeOf("reshape(v, [4, 1]) - M"), "f32[4, 5]");
  EXPECT_EQ(typeOf("maximum(a, 0)"), "f32[B, 3]");
  EXPECT_EQ(typeOf("where(a > 0, a, 0.1 * a)"), "f32[B, 3]");
  EXPECT_EQ(typeOf("leaky_relu(a, slope=0.2) + elu(a, alpha=0.5)"), "f32[B, 3]");
}

TEST(Sema, Comparisons) {
  EXPECT_EQ(typeOf("a > 0"), "f32[B, 3]");
  EXPECT_EQ(typeOf("y == 3"), "f32[B]") << "labels compare and give a float mask";
  EXPECT_EQ(typeOf("argmax(x @ W) == y"), "f32[B]");
  EXPECT_NE(typeOf("y == 2.5").find("only be compared with integers"), std::string::npos);
}

TEST(Sema, MatmulInEveryForm) {
  EXPECT_EQ(typeOf("x @ W"), "f32[B, 10]");
  EXPECT_EQ(typeOf("v @ M"), "f32[5]");
  EXPECT_EQ(typeOf("M @ reshape(M, [5, 4])"), "f32[4, 4]");
  EXPECT_EQ(typeOf("M @ sum(M, axis=0)"), "f32[4]");
  EXPECT_EQ(typeOf("v @ v"), "f32[]");
  EXPECT_EQ(typeOf("reshape(x, [B, 16, 49]) @ reshape(W, [49, 160])"), "f32[B, 16, 160]");
  EXPECT_EQ(typeOf("reshape(M, [2, 1, 2, 5]) @ reshape(M, [2, 5, 2])"), "f32[2, 2, 2, 2]");
}

TEST(Sema, Reductions) {
  EXPECT_EQ(typeOf("sum(x)"), "f32[]");
  EXPECT_EQ(typeOf("mean(x, axis=1)"), "f32[B]");
  EXPECT_EQ(typeOf("max(x, axis=-1, keepdims=true)"), "f32[B, 1]");
  EXPECT_EQ(typeOf("min(img, axis=[2, 3])"), "f32[B, 1]");
  EXPECT_EQ(typeOf("logsumexp(img, axis=[1, -1], keepdims=true)"), "f32[B, 1, 28, 1]");
  EXPECT_EQ(typeOf("sum(x, 0)"), "f32[784]") << "axis may be positional";
}

TEST(Sema, ShapeFunctions) {
  EXPECT_EQ(typeOf("reshape(x, [B, 28, 28])"), "f32[B, 28, 28]");
  EXPECT_EQ(typeOf("reshape(x, [-1, 28])"), "f32[28*B, 28]");
  EXPECT_EQ(typeOf("reshape(img, [B, -1])"), "f32[B, 784]");
  EXPECT_EQ(typeOf("reshape(x, [B*28, 28])"), "f32[28*B, 28]");
  EXPECT_EQ(typeOf("flatten(img)"), "f32[B, 784]");
  EXPECT_EQ(typeOf("concat([a, b], axis=1)"), "f32[B, 7]");
  EXPECT_EQ(typeOf("concat([a, a, a])"), "f32[3*B, 3]");
  EXPECT_EQ(typeOf("transpose(M)"), "f32[5, 4]");
  EXPECT_EQ(typeOf("transpose(img, perm=[0, 2, 3, 1])"), "f32[B, 28, 28, 1]");
  EXPECT_EQ(typeOf("reshape(y, [B, 1])"), "i32[B, 1]") << "labels may be reshaped";
}

TEST(Sema, NeuralNetworkFunctionsAndLosses) {
  EXPECT_EQ(typeOf("softmax(x @ W)"), "f32[B, 10]");
  EXPECT_EQ(typeOf("log_softmax(x @ W, axis=0)"), "f32[B, 10]");
  EXPECT_EQ(typeOf("one_hot(y, 10)"), "f32[B, 10]");
  EXPECT_EQ(typeOf("argmax(x)"), "i32[B]");
  EXPECT_EQ(typeOf("argmax(x, axis=0)"), "i32[784]");
  EXPECT_EQ(typeOf("accuracy(x @ W, y)"), "f32[]");
  EXPECT_EQ(typeOf("cross_entropy(x @ W, y)"), "f32[]");
  EXPECT_EQ(typeOf("cross_entropy(x @ W, softmax(x @ W))"), "f32[]");
  EXPECT_EQ(typeOf("mse(a, a * 2)"), "f32[]");
  EXPECT_EQ(typeOf("bce_with_logits(a, sigmoid(a))"), "f32[]");
  EXPECT_EQ(typeOf("stop_gradient(a)"), "f32[B, 3]");
}

TEST(Sema, ConvolutionAndPooling) {
  // PyTorch: out = floor((in + 2*padding - kernel) / stride) + 1.
  EXPECT_EQ(typeOf("conv2d(img, K, padding=1)"), "f32[B, 32, 28, 28]");
  EXPECT_EQ(typeOf("conv2d(img, K)"), "f32[B, 32, 26, 26]");
  EXPECT_EQ(typeOf("conv2d(img, K, stride=2, padding=1)"), "f32[B, 32, 14, 14]");
  EXPECT_EQ(typeOf("conv2d(img, K, stride=[1, 2], padding=[0, 1])"), "f32[B, 32, 26, 14]");
  EXPECT_EQ(typeOf("max_pool2d(img, 2)"), "f32[B, 1, 14, 14]");
  EXPECT_EQ(typeOf("avg_pool2d(img, 3, stride=2)"), "f32[B, 1, 13, 13]");
  EXPECT_EQ(typeOf("max_pool2d(conv2d(img, K, padding=1), [2, 4])"), "f32[B, 32, 14, 7]");
}

TEST(Sema, WeakNumbersTakeTheTensorsDtype) {
  auto c = check("input d: f64[3]\nr = 2 * d + 1\n");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  EXPECT_EQ(c->type("r"), "f64[3]");
  for (const auto &n : c->program->nodes)
    if (n->kind == Node::Kind::Constant)
      EXPECT_EQ(n->type.dtype, DType::F64);
}

TEST(Sema, DtypeF64CompilesEveryF32AsF64) {
  SemaOptions f64;
  f64.forceF64 = true;
  EXPECT_EQ(typeOf("x @ W", f64), "f64[B, 10]");
  EXPECT_EQ(typeOf("a + d", f64), "f64[B, 3]");
  EXPECT_EQ(typeOf("one_hot(y, 3)", f64), "f64[B, 3]");
  EXPECT_EQ(typeOf("stop_gradient(y)", f64), "i32[B]");
  EXPECT_NE(typeOf("a + d").find("mixes f32 and f64"), std::string::npos);
}

TEST(Sema, ConstsFoldAndSetOverrides) {
  const char *script = "const H = 256\nconst H2 = H * 2 ** 2 - 1/4\nparam W: [H, 3]\n";
  auto c = check(script);
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  ASSERT_EQ(c->program->consts.size(), 2u);
  EXPECT_DOUBLE_EQ(c->program->consts[1].value, 1023.75);
  EXPECT_EQ(c->type("W"), "f32[256, 3]");
  SemaOptions set;
  set.constOverrides = {{"H", 64}};
  c = check(script, set);
  EXPECT_DOUBLE_EQ(c->program->consts[1].value, 255.75);
  EXPECT_EQ(c->type("W"), "f32[64, 3]");
}

TEST(Sema, DefsExpandAtEachCall) {
  auto c = check(R"(input x: [B, 2]
param W1: [2, 3]
param W2: [3, 3]
def dense(v, W) = v @ W
def block(v, W) {
  z = dense(v, W)
  return relu(z)
}
h1 = block(x, W1)
h2 = block(h1, W=W2)
)");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  EXPECT_EQ(c->type("h1"), "f32[B, 3]");
  EXPECT_EQ(c->type("h2"), "f32[B, 3]");
  int matmuls = 0;
  for (const auto &n : c->program->nodes)
    matmuls += n->kind == Node::Kind::Op && n->op == Builtin::MatMul;
  EXPECT_EQ(matmuls, 2);
  EXPECT_NE(c->node("h1"), c->node("h2"));
}

TEST(Sema, DefArgumentsMayBeCompileTimeValues) {
  auto c = check("input x: [B, 4]\ndef sm(v, ax) = softmax(v, axis=ax)\nr = sm(x, 0)\n");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  EXPECT_EQ(c->node("r")->attrs.axis, 0);
}

TEST(Sema, DeclarationsAndDefaults) {
  auto c = check("input x: [B, T, 3]\nparam W: [3, 4]\nparam b: [4]\nparam s: []\n"
                 "param K: [2, 3, 3, 3] = he_normal\nparam u: [4] = uniform(-0.5, 0.5)\n");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  const Program &p = *c->program;
  ASSERT_EQ(p.params.size(), 5u);
  EXPECT_EQ(p.params[0].init.kind, Initializer::Kind::GlorotUniform);
  EXPECT_TRUE(p.params[0].init.isDefault);
  EXPECT_EQ(p.params[1].init.kind, Initializer::Kind::Zeros);
  EXPECT_EQ(p.params[2].init.kind, Initializer::Kind::Zeros);
  EXPECT_EQ(p.params[3].init.kind, Initializer::Kind::HeNormal);
  EXPECT_EQ(p.params[4].init.kind, Initializer::Kind::Uniform);
  EXPECT_DOUBLE_EQ(p.params[4].init.a, -0.5);
  EXPECT_DOUBLE_EQ(p.params[4].init.b, 0.5);
  ASSERT_EQ(p.symbols.size(), 2u);
  EXPECT_EQ(p.symbols[0].name, "B");
  EXPECT_EQ(p.symbols[1].name, "T");
}

TEST(Sema, ResultsOfTheScript) {
  auto c = check("input x: [B, 3]\nparam w: [3]\ny = x @ w\noutput y\noutput z = relu(y)\n"
                 "metric m = mean(y)\nloss mean(y ** 2)\n");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  const Program &p = *c->program;
  ASSERT_EQ(p.outputs.size(), 2u);
  EXPECT_EQ(p.outputs[0].name, "y");
  EXPECT_EQ(p.outputs[1].node->type.str(), "f32[B]");
  ASSERT_EQ(p.metrics.size(), 1u);
  ASSERT_NE(p.loss, nullptr);
  EXPECT_TRUE(p.loss->type.isScalar());
}

TEST(Sema, TheFashionExample) {
  std::ifstream in(std::string(NABLA_SPEC_DIR) + "/fashion_mlp.nn");
  std::stringstream text;
  text << in.rdbuf();
  auto c = check(text.str());
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  EXPECT_EQ(c->type("h1"), "f32[B, 256]");
  EXPECT_EQ(c->type("h2"), "f32[B, 128]");
  EXPECT_EQ(c->type("logits"), "f32[B, 10]");
  EXPECT_EQ(c->type("probs"), "f32[B, 10]");
  const TrainConfig &t = *c->program->train;
  EXPECT_EQ(t.batch, 128);
  EXPECT_EQ(t.epochs, 10);
  EXPECT_EQ(t.seed, 0);
  EXPECT_TRUE(t.shuffle);
  ASSERT_TRUE(t.optimizer.has_value());
  EXPECT_EQ(t.optimizer->kind, OptimizerConfig::Kind::Adam);
  EXPECT_DOUBLE_EQ(t.optimizer->lr, 1e-3);
  EXPECT_DOUBLE_EQ(t.optimizer->beta2, 0.999);
  ASSERT_EQ(t.data.size(), 2u);
  EXPECT_EQ(t.data[0].first, "x");
  EXPECT_DOUBLE_EQ(t.data[0].second.scale, 1.0 / 255);
  EXPECT_EQ(t.data[1].second.path, "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
  EXPECT_EQ(t.test.size(), 2u);
}

TEST(Sema, TrainSettingsAndRelativePaths) {
  SemaOptions options;
  options.scriptDir = "/data/scripts";
  auto c = check(R"(input x: [B, 2]
input t: [B, 1]
loss mse(x @ [[1], [1]] * 0 + 0, t)
train {
  data = { x: csv("xor.csv", columns=[0, 1]), t: csv("xor.csv", columns=["t"]) }
  optimizer = sgd(lr=0.5, momentum=0.9, nesterov=true, weight_decay=1e-4)
  batch = 4; epochs = 5000; seed = 7; shuffle = false
})",
                 options);
  ASSERT_NE(c->errors.find("'@' needs tensors or numbers"), std::string::npos) << c->errors;
  c = check(R"(input x: [B, 2]
input t: [B, 1]
param W: [2, 1]
loss mse(x @ W, t)
train {
  data = { x: csv("xor.csv", columns=[0, 1]), t: csv("xor.csv", columns=["t"]) }
  optimizer = sgd(lr=0.5, momentum=0.9, nesterov=true, weight_decay=1e-4)
  batch = 4; epochs = 5000; seed = 7; shuffle = false
})",
            options);
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  const TrainConfig &t = *c->program->train;
  EXPECT_EQ(t.data[0].second.path, "/data/scripts/xor.csv");
  EXPECT_EQ(t.data[0].second.columns, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(t.data[1].second.columnNames, (std::vector<std::string>{"t"}));
  EXPECT_EQ(t.optimizer->kind, OptimizerConfig::Kind::Sgd);
  EXPECT_TRUE(t.optimizer->nesterov);
  EXPECT_DOUBLE_EQ(t.optimizer->weightDecay, 1e-4);
  EXPECT_EQ(t.seed, 7);
  EXPECT_FALSE(t.shuffle);
  EXPECT_EQ(t.epochs, 5000);
}

TEST(Sema, OptimizerDefaultsArePyTorchs) {
  auto c = check("input x: [3]\nloss sum(x)\ntrain { optimizer = adamw }\n");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  const OptimizerConfig &o = *c->program->train->optimizer;
  EXPECT_EQ(o.kind, OptimizerConfig::Kind::AdamW);
  EXPECT_DOUBLE_EQ(o.lr, 1e-3);
  EXPECT_DOUBLE_EQ(o.weightDecay, 0.01);
  EXPECT_DOUBLE_EQ(o.eps, 1e-8);
  c = check("input x: [3]\nloss sum(x)\ntrain { optimizer = rmsprop() }\n");
  ASSERT_TRUE(c->errors.empty()) << c->errors;
  EXPECT_DOUBLE_EQ(c->program->train->optimizer->lr, 1e-2);
  EXPECT_DOUBLE_EQ(c->program->train->optimizer->alpha, 0.99);
}

TEST(Sema, ExpansionIsBounded) {
  std::string script = "def f0(x) = x + x\n";
  for (int i = 1; i < 40; ++i)
    script += "def f" + std::to_string(i) + "(x) = f" + std::to_string(i - 1) + "(f" +
              std::to_string(i - 1) + "(x))\n";
  script += "input a: [2]\ny = f39(a)\n";
  auto c = check(script);
  EXPECT_NE(c->errors.find("the program is too large"), std::string::npos);
  EXPECT_LE(c->program->nodes.size(), SemaLimits::kMaxNodes);
}

} // namespace
} // namespace nabla
