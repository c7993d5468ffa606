//===- IRTest.cpp - Op table, printer/parser round trip, verifier ---------===//
#include "frontend/Lower.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace nabla::ir {
namespace {

TEST(OpTable, NamesAreUniqueAndLookUp) {
  std::set<std::string_view> names;
  for (unsigned i = 0; i < opCount(); ++i) {
    const OpInfo &info = opInfo(OpKind(i));
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_EQ(lookupOp(info.name), OpKind(i));
  }
  EXPECT_FALSE(lookupOp("frobnicate"));
}

/// Lowers script text; fails the test on any diagnostic.
std::unique_ptr<Module> lowerScript(SourceManager &sources, const std::string &name,
                                    const std::string &text) {
  DiagnosticEngine diags(sources);
  uint32_t file = sources.addBuffer(name, text);
  auto ast = parseModule(sources, file, diags);
  auto program = analyze(*ast, sources, diags, SemaOptions{});
  std::string all;
  for (const Diagnostic *d : diags.sorted())
    all += diags.format(*d);
  EXPECT_FALSE(diags.hasErrors()) << all;
  if (diags.hasErrors())
    return nullptr;
  auto module = lower(*program, diags);
  EXPECT_TRUE(verify(*module, diags, "lowering"));
  return module;
}

/// Every script under examples/ and tests/lit that checks.
std::vector<std::filesystem::path> scriptsThatCheck() {
  std::vector<std::filesystem::path> out;
  for (const char *dir : {"/examples", "/tests/lit"})
    for (const auto &e :
         std::filesystem::recursive_directory_iterator(std::string(NABLA_SOURCE_DIR) + dir)) {
      if (e.path().extension() != ".nn")
        continue;
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      SourceManager sources;
      DiagnosticEngine diags(sources);
      auto ast = parseModule(sources, sources.addBuffer("s.nn", text.str()), diags);
      analyze(*ast, sources, diags, SemaOptions{});
      if (!diags.hasErrors())
        out.push_back(e.path());
    }
  std::sort(out.begin(), out.end());
  return out;
}

class RoundTrip : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(RoundTrip, PrintParsePrintGivesTheSameText) {
  std::ifstream in(GetParam());
  std::stringstream text;
  text << in.rdbuf();
  SourceManager sources;
  auto module = lowerScript(sources, GetParam().filename().string(), text.str());
  ASSERT_TRUE(module);
  std::string first = toString(*module, sources);
  DiagnosticEngine diags(sources);
  uint32_t file = sources.addBuffer("printed.nnir", first);
  auto parsed = parseIR(sources, file, diags);
  std::string all;
  for (const Diagnostic *d : diags.sorted())
    all += diags.format(*d);
  ASSERT_TRUE(parsed) << all << "\n" << first;
  EXPECT_EQ(toString(*parsed, sources), first);
}

INSTANTIATE_TEST_SUITE_P(Scripts, RoundTrip, ::testing::ValuesIn(scriptsThatCheck()),
                         [](const ::testing::TestParamInfo<std::filesystem::path> &info) {
                           std::string name = info.param.parent_path().filename().string() + "_" +
                                              info.param.stem().string();
                           for (char &c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           return name;
                         });

TEST(RoundTrip, CoversManyScripts) { EXPECT_GE(scriptsThatCheck().size(), 8u); }

/// Parses IR text; returns the error messages ("" when it parsed and verified).
std::string irErrors(const std::string &text) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = parseIR(sources, sources.addBuffer("t.nnir", text), diags);
  std::string all;
  for (const Diagnostic *d : diags.sorted())
    all +=
        std::to_string(d->loc.line) + ":" + std::to_string(d->loc.col) + ": " + d->message + "\n";
  EXPECT_EQ(module == nullptr, !all.empty()) << all;
  return all;
}

TEST(IRParser, AcceptsHandWrittenIR) {
  EXPECT_EQ(irErrors(R"(# a comment
func @forward {
  input %x : f32[B, 3]
  param %w : f32[3] = normal(0, 0.01)
  %wb = broadcast %w : f32[B, 3]
  %p = mul %x, %wb : f32[B, 3]
  %s = reduce_sum %p {axes = [0, 1]} : f32[]
  %n = dim_size {dim = 3*B} : f32[]
  %m = div %s, %n : f32[]
  output p = %p
  loss = %m
})"),
            "");
}

TEST(IRParser, PointsAtMistakes) {
  const std::string head = "func @forward {\n  input %x : f32[3]\n";
  EXPECT_EQ(irErrors(head + "  %y = frob %x : f32[3]\n}"), "3:8: unknown op 'frob'\n");
  EXPECT_EQ(irErrors(head + "  %y = exp %z : f32[3]\n}"),
            "3:12: unknown value %z (values are defined before they are used)\n");
  EXPECT_EQ(irErrors(head + "  %x = exp %x : f32[3]\n}"), "3:3: redefinition of %x\n");
  EXPECT_EQ(irErrors(head + "  %y = exp %x : f32[4]\n}"),
            "3:8: 'exp' (f32[3]) -> f32[4]: the result should be f32[3], not f32[4]\n");
  EXPECT_EQ(irErrors(head + "  %y = exp %x, %x : f32[3]\n}"),
            "3:8: 'exp' takes 1 operands, not 2\n");
  EXPECT_EQ(irErrors(head + "  %y = exp %x {axis = 1} : f32[3]\n}"),
            "3:16: 'exp' has no attribute 'axis'\n");
  EXPECT_EQ(irErrors(head + "  %y = reduce_sum %x {axes = [1]} : f32[]\n}"),
            "3:8: 'reduce_sum' (f32[3]) -> f32[]: axes must be distinct, increasing and within "
            "the operand's rank\n");
  EXPECT_EQ(irErrors(head + "  %y = exp %x : q32[3]\n}"), "3:17: unknown element type 'q32'\n");
  EXPECT_EQ(irErrors(head + "  loss = %x\n}"),
            "0:0: invalid IR after parsing in @forward: the loss must be a floating-point "
            "scalar, not f32[3]\n");
  EXPECT_EQ(irErrors("func @other {\n}"),
            "0:0: the IR file has none of @forward, @train_step and @train_update\n");
  EXPECT_EQ(irErrors(head + "  %y = broadcast %x : f32[N, 3]\n}"),
            "0:0: invalid IR after parsing in @forward: the size 'N' is not bound by any "
            "argument\n");
}

TEST(Verifier, CatchesWhatTheBuilderAllows) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  Module m;
  Function *fn = m.addFunction("forward");
  Value *x = &fn->addArgument(ArgRole::Input, "x", {DType::F32, {Dim(3)}}, {})->value;
  Value *w = &fn->addArgument(ArgRole::Param, "w", {DType::F32, {Dim(2)}}, {})->value;
  Value *sum = fn->append(OpKind::Add, {x, w}, {DType::F32, {Dim(3)}}, {}, {});
  fn->addResult(ResultRole::Grad, "w", sum);
  EXPECT_FALSE(verify(m, diags, "a test"));
  ASSERT_EQ(diags.diagnostics().size(), 2u);
  EXPECT_NE(diags.diagnostics()[0].message.find(
                "invalid IR after a test in @forward: 'add' (f32[3], f32[2]) -> f32[3]: operands "
                "must have one type"),
            std::string::npos);
  EXPECT_NE(diags.diagnostics()[1].message.find("grad 'w' must match a param of the same type"),
            std::string::npos);
}

TEST(Verifier, OperandsMustComeFirst) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  Module m;
  Function *fn = m.addFunction("forward");
  Value *x = &fn->addArgument(ArgRole::Input, "x", {DType::F32, {Dim(3)}}, {})->value;
  Value *a = fn->append(OpKind::Exp, {x}, {DType::F32, {Dim(3)}}, {}, {});
  Value *b = fn->append(OpKind::Exp, {a}, {DType::F32, {Dim(3)}}, {}, {});
  fn->ops[0]->operands[0] = b; // a now uses b, defined after it
  EXPECT_FALSE(verify(m, diags, "a test"));
  EXPECT_NE(diags.diagnostics()[0].message.find("is not defined before it"), std::string::npos);
}

TEST(Lowering, BroadcastsAreExplicitAndConstantsTakeTheirShape) {
  SourceManager sources;
  auto module = lowerScript(sources, "t.nn",
                            "input x: [B, 3]\nparam b: [3]\ny = x + b * 2\n"
                            "output y\n");
  ASSERT_TRUE(module);
  std::string text = toString(*module, sources);
  EXPECT_NE(text.find("%0 = constant {value = 2} : f32[3]"), std::string::npos) << text;
  EXPECT_NE(text.find("%2 = broadcast %1 : f32[B, 3]"), std::string::npos) << text;
  EXPECT_NE(text.find("%y = add %x, %2 : f32[B, 3]"), std::string::npos) << text;
}

TEST(Lowering, OnlyWhatResultsNeedIsLowered) {
  SourceManager sources;
  auto module = lowerScript(sources, "t.nn", "input x: [3]\nunused = exp(x)\noutput y = relu(x)\n");
  ASSERT_TRUE(module);
  const Function &fn = *module->lookup("forward");
  ASSERT_EQ(fn.ops.size(), 1u);
  EXPECT_EQ(fn.ops[0]->kind, OpKind::Relu);
}

} // namespace
} // namespace nabla::ir

namespace nabla {
namespace {

/// Every kind of a vocabulary has its own row, found by rowOf(kind).
template <typename Kind> void expectEveryKindHasARow(Kind last) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(last); ++i) {
    Kind k = static_cast<Kind>(i);
    EXPECT_EQ(rowOf(k).kind, k) << "no row for kind " << i;
    EXPECT_TRUE(names.insert(rowOf(k).name).second) << rowOf(k).name;
  }
}

TEST(TrainVocabulary, EveryKindHasOneRow) {
  expectEveryKindHasARow(Initializer::Kind::LecunNormal);
  expectEveryKindHasARow(DataSource::Kind::Csv);
  expectEveryKindHasARow(OptimizerConfig::Kind::RmsProp);
  EXPECT_EQ(findRow(optimizerTable(), "adagrad"), nullptr);
  EXPECT_EQ(findRow(optimizerTable(), "adamw")->kind, OptimizerConfig::Kind::AdamW);
}

/// The IR text of a module whose train block holds `lines`.
std::string withTrainLines(const std::string &lines) {
  return lines + "func @forward {\n  input %x : f32[B, 3]\n  param %w : f32[3] = zeros\n"
                 "  %wb = broadcast %w : f32[B, 3]\n  %p = mul %x, %wb : f32[B, 3]\n"
                 "  %s = reduce_sum %p {axes = [0, 1]} : f32[]\n  loss = %s\n}\n";
}

/// Parses `text` and prints its train block again ("" when it did not parse).
std::string reprintTrain(const std::string &text, std::string *errors = nullptr) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = ir::parseIR(sources, sources.addBuffer("t.nnir", text), diags);
  for (const Diagnostic *d : diags.sorted())
    if (errors)
      *errors += d->message + "\n";
  if (!module || !module->train)
    return "";
  std::string all = ir::toString(*module, sources), out;
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("train ", 0) == 0 && line.rfind("train batch", 0) != 0 &&
        line.rfind("train epochs", 0) != 0)
      out += line + "\n";
  return out;
}

TEST(TrainVocabulary, IRTextWritesEverySettingAndReadsItBack) {
  // Written by hand from the language reference's defaults, not by the printer.
  const std::string lines = "train seed = 3\n"
                            "train shuffle = false\n"
                            "train optimizer = sgd(lr=0.25, momentum=0.5, nesterov=true, "
                            "weight_decay=0.125)\n"
                            "train data x = csv(\"a.csv\", columns=[\"p\", \"q\"], header=true, "
                            "scale=2)\n"
                            "train test x = npy(\"b.npy\", scale=0.5)\n";
  EXPECT_EQ(reprintTrain(withTrainLines(lines)), lines);
  for (const std::string opt :
       {"adam(lr=0.002, beta1=0.8, beta2=0.99, eps=1e-07, "
        "weight_decay=0)",
        "adamw(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, "
        "weight_decay=0.01)",
        "rmsprop(lr=0.01, alpha=0.9, eps=1e-08)", "lm(mu=0.01, factor=4)"}) {
    std::string printed = reprintTrain(withTrainLines("train optimizer = " + opt + "\n"));
    EXPECT_NE(printed.find("train optimizer = " + opt + "\n"), std::string::npos) << printed;
  }
}

TEST(TrainVocabulary, IRParserRejectsWhatNoRowHas) {
  std::string errors;
  EXPECT_EQ(reprintTrain(withTrainLines("train optimizer = sgd(lr=1, nesterov=maybe)\n"), &errors),
            "");
  EXPECT_NE(errors.find("'nesterov' is true or false"), std::string::npos) << errors;
  errors.clear();
  EXPECT_EQ(reprintTrain(withTrainLines("train optimizer = adam(alpha=0.9)\n"), &errors), "");
  EXPECT_NE(errors.find("unknown optimizer setting 'alpha'"), std::string::npos) << errors;
  errors.clear();
  EXPECT_EQ(reprintTrain(withTrainLines("train data x = idx(\"a\", header=true)\n"), &errors), "");
  EXPECT_NE(errors.find("unknown data source setting 'header'"), std::string::npos) << errors;
}

TEST(TrainVocabulary, SummaryLeavesOutSettingsThatAreOff) {
  OptimizerConfig sgd;
  sgd.kind = OptimizerConfig::Kind::Sgd;
  sgd.lr = 0.5;
  EXPECT_EQ(optimizerSummary(sgd), "sgd(lr=0.5)");
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  EXPECT_EQ(optimizerSummary(sgd), "sgd(lr=0.5, momentum=0.9, nesterov=true)");
  OptimizerConfig adamw;
  adamw.kind = OptimizerConfig::Kind::AdamW;
  adamw.weightDecay = 0.01;
  EXPECT_EQ(optimizerSummary(adamw),
            "adamw(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01)");
}

TEST(TrainVocabulary, InitializersArePositional) {
  Initializer init;
  init.kind = Initializer::Kind::Uniform;
  init.a = -1;
  init.b = 0.5;
  EXPECT_EQ(initializerText(init), "uniform(-1, 0.5)");
  init.kind = Initializer::Kind::HeNormal;
  EXPECT_EQ(initializerText(init), "he_normal");
}

} // namespace
} // namespace nabla
