//===- ParserTest.cpp -----------------------------------------------------===//
#include "frontend/Parser.h"

#include <gtest/gtest.h>
#include <llvm/Support/Casting.h>

#include <fstream>
#include <sstream>

namespace nabla {
namespace {

using namespace ast;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

struct Parsed {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  std::unique_ptr<Module> module;
  std::vector<std::string> errors; ///< "LINE:COL: message"
};

std::unique_ptr<Parsed> parse(const std::string &text) {
  auto p = std::make_unique<Parsed>();
  uint32_t file = p->sources.addBuffer("t.nn", text);
  p->module = parseModule(p->sources, file, p->diags);
  for (const Diagnostic *d : p->diags.sorted())
    p->errors.push_back(std::to_string(d->loc.line) + ":" + std::to_string(d->loc.col) + ": " +
                        d->message);
  return p;
}

/// The expression of the first statement `NAME = EXPR`, printed as source.
std::string exprOf(const std::string &text) {
  auto p = parse("v = " + text);
  EXPECT_TRUE(p->errors.empty()) << (p->errors.empty() ? "" : p->errors[0]);
  if (p->module->statements.empty())
    return "<none>";
  return toSource(*cast<AssignStmt>(*p->module->statements[0]).value);
}

TEST(Parser, PrecedenceFollowsTheSpecTable) {
  EXPECT_EQ(exprOf("-x ** 2"), "-(x ** 2)");
  EXPECT_EQ(exprOf("a - b - c"), "(a - b) - c");
  EXPECT_EQ(exprOf("a ** b ** c"), "a ** (b ** c)");
  EXPECT_EQ(exprOf("a + b * c @ d"), "a + ((b * c) @ d)");
  EXPECT_EQ(exprOf("a / b * c"), "(a / b) * c");
  EXPECT_EQ(exprOf("a + b < c * d"), "(a + b) < (c * d)");
  EXPECT_EQ(exprOf("a ** -b"), "a ** -b");
  EXPECT_EQ(exprOf("-a * b"), "-a * b");
  EXPECT_EQ(exprOf("(a + b) * c"), "(a + b) * c");
}

TEST(Parser, CallsListsAndRecords) {
  EXPECT_EQ(exprOf("sum(x, axis=[0, -1], keepdims=true)"), "sum(x, axis=[0, -1], keepdims=true)");
  EXPECT_EQ(exprOf("{x: idx(\"a.gz\", scale=1/255), y: npy(\"b.npy\")}"),
            "{x: idx(\"a.gz\", scale=1 / 255), y: npy(\"b.npy\")}");
  EXPECT_EQ(exprOf("f()"), "f()");
  EXPECT_EQ(exprOf("[]"), "[]");
  EXPECT_EQ(exprOf("[1, 2,]"), "[1, 2]");
}

TEST(Parser, NewlinesInsideBracketsContinueTheStatement) {
  auto p = parse("y = f(a,\n  b)\nz = [1,\n2]\n");
  EXPECT_TRUE(p->errors.empty());
  EXPECT_EQ(p->module->statements.size(), 2u);
}

TEST(Parser, SemicolonsSeparateStatements) {
  auto p = parse("a = 1; b = 2;c = 3");
  EXPECT_TRUE(p->errors.empty());
  EXPECT_EQ(p->module->statements.size(), 3u);
}

TEST(Parser, EveryStatementKind) {
  auto p = parse(R"(input x: f32[B, 2]
param W: [2, 3] = uniform(-1, 1)
param b: [3]
const H = 3
h = x @ W + b
def f(v) = relu(v)
def g(v) {
  w = v * 2
  return w
}
output y = f(h)
output h
metric m = mean(h)
loss sum(h)
train { batch = 4; epochs = 2 }
)");
  ASSERT_TRUE(p->errors.empty()) << p->errors[0];
  const auto &s = p->module->statements;
  ASSERT_EQ(s.size(), 12u);
  EXPECT_TRUE(isa<InputStmt>(*s[0]));
  EXPECT_EQ(cast<InputStmt>(*s[0]).type.dtype, "f32");
  EXPECT_EQ(cast<InputStmt>(*s[0]).type.dims.size(), 2u);
  EXPECT_TRUE(cast<ParamStmt>(*s[1]).init != nullptr);
  EXPECT_TRUE(cast<ParamStmt>(*s[2]).init == nullptr);
  EXPECT_TRUE(isa<ConstStmt>(*s[3]));
  EXPECT_TRUE(isa<AssignStmt>(*s[4]));
  EXPECT_FALSE(cast<DefStmt>(*s[5]).isBlock);
  EXPECT_TRUE(cast<DefStmt>(*s[6]).isBlock);
  EXPECT_EQ(cast<DefStmt>(*s[6]).locals.size(), 1u);
  EXPECT_TRUE(cast<OutputStmt>(*s[7]).value != nullptr);
  EXPECT_TRUE(cast<OutputStmt>(*s[8]).value == nullptr);
  EXPECT_TRUE(isa<MetricStmt>(*s[9]));
  EXPECT_TRUE(isa<LossStmt>(*s[10]));
  EXPECT_EQ(cast<TrainStmt>(*s[11]).entries.size(), 2u);
}

TEST(Parser, ScalarTypesWithAndWithoutBrackets) {
  auto p = parse("input a: f32\ninput b: f32[]\ninput c: []");
  ASSERT_TRUE(p->errors.empty());
  const auto &s = p->module->statements;
  EXPECT_FALSE(cast<InputStmt>(*s[0]).type.hasDims);
  EXPECT_TRUE(cast<InputStmt>(*s[1]).type.hasDims);
  EXPECT_TRUE(cast<InputStmt>(*s[1]).type.dims.empty());
  EXPECT_TRUE(cast<InputStmt>(*s[2]).type.dtype.empty());
}

TEST(Parser, RecoversAtTheNextStatement) {
  auto p = parse("a = = 1\nb = 2\nc = (3 +\nd = 4)\ne = 5 5\nf = 6\n");
  ASSERT_EQ(p->errors.size(), 3u);
  EXPECT_EQ(p->errors[0], "1:5: expected an expression, found '='");
  EXPECT_EQ(p->errors[1], "4:3: expected ')' to close the '(' at 3:5, found '='");
  EXPECT_EQ(p->errors[2], "5:7: expected a newline or ';' after the statement, found number '5'");
  std::vector<std::string> names;
  for (const StmtPtr &s : p->module->statements)
    names.push_back(cast<AssignStmt>(*s).name);
  EXPECT_EQ(names, (std::vector<std::string>{"b", "f"}));
  EXPECT_EQ(p->module->brokenNames, (std::vector<std::string>{"a", "c", "e"}));
}

TEST(Parser, UnclosedBracketIsOneErrorAtTheBracket) {
  auto p = parse("input x: [3]\nh = relu(x @ W\ny = 2\nz = 3\n");
  ASSERT_EQ(p->errors.size(), 1u);
  EXPECT_EQ(p->errors[0], "2:9: unclosed '('; expected a matching ')'");
  // Parsing resumes on the next line.
  EXPECT_EQ(p->module->statements.size(), 3u);
}

TEST(Parser, UnclosedBlockKeepsItsStatements) {
  auto p = parse("def f(x) {\n  return x\ninput y: [2]\n");
  ASSERT_EQ(p->errors.size(), 1u);
  EXPECT_EQ(p->errors[0], "1:10: unclosed '{'; expected a matching '}'");
  ASSERT_EQ(p->module->statements.size(), 1u);
  EXPECT_TRUE(isa<InputStmt>(*p->module->statements[0]));
}

TEST(Parser, StrayAndMismatchedClosers) {
  auto p = parse("a = (1]\nb = 2)\n");
  ASSERT_EQ(p->errors.size(), 2u);
  EXPECT_EQ(p->errors[0], "1:7: ']' does not match '('");
  EXPECT_EQ(p->errors[1], "2:6: unmatched ')'");
}

TEST(Parser, HostileNestingEndsInAnError) {
  std::string deep = "y = " + std::string(100000, '(') + "x" + std::string(100000, ')');
  auto p = parse(deep + "\nz = 1\n");
  ASSERT_EQ(p->errors.size(), 1u);
  EXPECT_NE(p->errors[0].find("nested too deeply"), std::string::npos);
  EXPECT_EQ(p->module->statements.size(), 1u) << "z = 1 still parses";

  std::string minus = "y = " + std::string(100000, '-') + "x\n";
  EXPECT_EQ(parse(minus)->errors.size(), 1u);
  std::string power = "y = x";
  for (int i = 0; i < 100000; ++i)
    power += "**x";
  EXPECT_EQ(parse(power)->errors.size(), 1u);
  std::string chain = "y = x";
  for (int i = 0; i < 100000; ++i)
    chain += "+x";
  EXPECT_EQ(parse(chain)->errors.size(), 1u);
}

TEST(Parser, EmptyAndBlankScripts) {
  EXPECT_TRUE(parse("")->errors.empty());
  EXPECT_TRUE(parse("\n\n  # only a comment\n;;\n")->errors.empty());
}

TEST(Parser, TheSpecExamplesParse) {
  for (const char *name : {"fashion_mlp.nn", "xor.nn", "neuron.nn"}) {
    std::ifstream in(std::string(NABLA_SPEC_DIR) + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    auto p = parse(text.str());
    EXPECT_TRUE(p->errors.empty()) << name << ": " << (p->errors.empty() ? "" : p->errors[0]);
    EXPECT_FALSE(p->module->statements.empty()) << name;
  }
}

} // namespace
} // namespace nabla
