//===- LexerTest.cpp ------------------------------------------------------===//
#include "frontend/Lexer.h"

#include <gtest/gtest.h>

namespace nabla {
namespace {

struct Lexed {
  std::vector<Token> tokens;
  std::vector<Diagnostic> diags;
};

Lexed lex(const std::string &text) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  uint32_t file = sources.addBuffer("t.nn", text);
  Lexer lexer(sources, file, &diags);
  Lexed out;
  for (Token t = lexer.next();; t = lexer.next()) {
    t.text = {}; // the buffer dies with `sources`
    out.tokens.push_back(t);
    if (t.is(TokenKind::Eof))
      break;
  }
  out.diags = diags.diagnostics();
  return out;
}

std::vector<TokenKind> kinds(const Lexed &l) {
  std::vector<TokenKind> k;
  for (const Token &t : l.tokens)
    k.push_back(t.kind);
  return k;
}

using K = TokenKind;

TEST(Lexer, KeywordsIdentifiersAndPunctuation) {
  Lexed l = lex("param W1: [784, H] = he_normal");
  EXPECT_EQ(kinds(l),
            (std::vector<K>{K::KwParam, K::Identifier, K::Colon, K::LBracket, K::Number, K::Comma,
                            K::Identifier, K::RBracket, K::Equal, K::Identifier, K::Eof}));
  EXPECT_TRUE(l.diags.empty());
}

TEST(Lexer, EveryKeyword) {
  Lexed l = lex("input param const def return output metric loss train inputs");
  EXPECT_EQ(kinds(l),
            (std::vector<K>{K::KwInput, K::KwParam, K::KwConst, K::KwDef, K::KwReturn, K::KwOutput,
                            K::KwMetric, K::KwLoss, K::KwTrain, K::Identifier, K::Eof}));
}

TEST(Lexer, OperatorsTakeTheLongestMatch) {
  Lexed l = lex("** * == = != <= < >= > @ / + - ;");
  EXPECT_EQ(kinds(l), (std::vector<K>{K::StarStar, K::Star, K::EqualEqual, K::Equal, K::NotEqual,
                                      K::LessEqual, K::Less, K::GreaterEqual, K::Greater, K::At,
                                      K::Slash, K::Plus, K::Minus, K::Semicolon, K::Eof}));
}

TEST(Lexer, NumbersOfEverySpecForm) {
  Lexed l = lex("3 0.5 .5 1e-3 2.5E+4 3.");
  ASSERT_EQ(l.tokens.size(), 7u);
  EXPECT_DOUBLE_EQ(l.tokens[0].number, 3);
  EXPECT_TRUE(l.tokens[0].isInteger);
  EXPECT_DOUBLE_EQ(l.tokens[1].number, 0.5);
  EXPECT_FALSE(l.tokens[1].isInteger);
  EXPECT_DOUBLE_EQ(l.tokens[2].number, 0.5);
  EXPECT_DOUBLE_EQ(l.tokens[3].number, 0.001);
  EXPECT_FALSE(l.tokens[3].isInteger);
  EXPECT_DOUBLE_EQ(l.tokens[4].number, 25000);
  EXPECT_DOUBLE_EQ(l.tokens[5].number, 3);
  EXPECT_TRUE(l.diags.empty());
}

TEST(Lexer, MalformedNumbersAreOneErrorEach) {
  Lexed l = lex("1e 3x 1.2.3 1e999");
  EXPECT_EQ(kinds(l), (std::vector<K>{K::Error, K::Error, K::Error, K::Error, K::Eof}));
  ASSERT_EQ(l.diags.size(), 4u);
  EXPECT_EQ(l.diags[0].message, "malformed number '1e'");
  EXPECT_EQ(l.diags[3].message, "number '1e999' is out of range");
  EXPECT_EQ(l.diags[3].loc.col, 13u);
}

TEST(Lexer, StringsResolveTheirTwoEscapes) {
  Lexed l = lex(R"(x = "a\"b\\c")");
  ASSERT_EQ(l.tokens[2].kind, K::String);
  EXPECT_EQ(l.tokens[2].stringValue, "a\"b\\c");
  EXPECT_FALSE(l.tokens[2].unterminated);
  EXPECT_TRUE(l.diags.empty());
}

TEST(Lexer, UnterminatedStringStopsAtTheLineEnd) {
  Lexed l = lex("x = \"abc\ny = 2");
  EXPECT_EQ(l.tokens[2].kind, K::String);
  EXPECT_TRUE(l.tokens[2].unterminated);
  EXPECT_EQ(l.tokens[3].kind, K::Newline);
  ASSERT_EQ(l.diags.size(), 1u);
  EXPECT_EQ(l.diags[0].loc.line, 1u);
  EXPECT_EQ(l.diags[0].loc.col, 5u);
}

TEST(Lexer, CommentsRunToTheLineEnd) {
  Lexed l = lex("a # b c ** \"\n# whole line\nb");
  EXPECT_EQ(kinds(l),
            (std::vector<K>{K::Identifier, K::Newline, K::Newline, K::Identifier, K::Eof}));
  EXPECT_EQ(l.tokens[3].loc.line, 3u);
}

TEST(Lexer, LineEndingsOfEveryKind) {
  Lexed l = lex("a\r\nb\rc\nd");
  ASSERT_EQ(l.tokens.size(), 8u);
  EXPECT_EQ(l.tokens[2].loc.line, 2u);
  EXPECT_EQ(l.tokens[4].loc.line, 3u);
  EXPECT_EQ(l.tokens[6].loc.line, 4u);
  EXPECT_EQ(l.tokens[6].loc.col, 1u);
}

TEST(Lexer, PositionsAreOneBasedLineAndByteColumn) {
  Lexed l = lex("  x =\n\t y");
  EXPECT_EQ(l.tokens[0].loc.line, 1u);
  EXPECT_EQ(l.tokens[0].loc.col, 3u);
  EXPECT_EQ(l.tokens[3].loc.line, 2u);
  EXPECT_EQ(l.tokens[3].loc.col, 3u);
}

TEST(Lexer, ARunOfStrayBytesIsOneError) {
  Lexed l = lex("a $$$ b \x01\x02\xff c ! d");
  EXPECT_EQ(kinds(l), (std::vector<K>{K::Identifier, K::Error, K::Identifier, K::Error,
                                      K::Identifier, K::Error, K::Identifier, K::Eof}));
  ASSERT_EQ(l.diags.size(), 3u);
  EXPECT_EQ(l.diags[0].message, "unexpected character '$'");
  EXPECT_NE(l.diags[1].message.find("unexpected byte 0x01"), std::string::npos);
  EXPECT_NE(l.diags[2].message.find("did you mean '!='?"), std::string::npos);
}

TEST(Lexer, NonAsciiLettersAreNamedInTheError) {
  Lexed l = lex("caf\xc3\xa9 = 1");
  ASSERT_EQ(l.diags.size(), 1u);
  EXPECT_NE(l.diags[0].message.find("unexpected character '\xc3\xa9'"), std::string::npos);
  EXPECT_EQ(l.diags[0].loc.col, 4u);
}

TEST(Lexer, RelexingAfterResetReportsNothingTwice) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  uint32_t file = sources.addBuffer("t.nn", "a $ b\nc");
  Lexer lexer(sources, file, &diags);
  Lexer::State start = lexer.state();
  while (!lexer.next().is(K::Eof)) {
  }
  lexer.reset(start);
  while (!lexer.next().is(K::Eof)) {
  }
  EXPECT_EQ(diags.errorCount(), 1u);
  Lexer::State next = lexer.stateAfterLineOf(0);
  EXPECT_EQ(next.line, 2u);
  EXPECT_EQ(next.col, 1u);
}

} // namespace
} // namespace nabla
