//===- DiagnosticsTest.cpp ------------------------------------------------===//
#include "support/Diagnostics.h"

#include <gtest/gtest.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla {
namespace {

std::string flushed(DiagnosticEngine &diags) {
  std::string out;
  llvm::raw_string_ostream os(out);
  diags.flush(os);
  return out;
}

TEST(Diagnostics, SpecFormatWithSourceLineAndCaret) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  uint32_t f = sources.addBuffer("net.nn", "input x: [3]\nh = relu(q)\n");
  diags.error({f, 2, 10}, "unknown name '{}'", "q");
  diags.note({f, 1, 7}, "see '{}'", "x");
  EXPECT_EQ(flushed(diags), "net.nn:2:10: error: unknown name 'q'\n"
                            "h = relu(q)\n"
                            "         ^\n"
                            "net.nn:1:7: note: see 'x'\n"
                            "input x: [3]\n"
                            "      ^\n");
  EXPECT_TRUE(diags.hasErrors());
}

TEST(Diagnostics, SortedByPositionWhenPrinted) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  uint32_t f = sources.addBuffer("a.nn", "a\nb\nc\n");
  diags.error({f, 3, 1}, "third");
  diags.error({f, 1, 1}, "first");
  diags.error({f, 2, 1}, "second");
  std::string out = flushed(diags);
  EXPECT_LT(out.find("first"), out.find("second"));
  EXPECT_LT(out.find("second"), out.find("third"));
}

TEST(Diagnostics, TabsAreKeptSoTheCaretLinesUp) {
  std::string caret;
  std::string shown = renderSourceLine("\tx = 1", 5, caret);
  EXPECT_EQ(shown, "\tx = 1");
  EXPECT_EQ(caret, "\t   ");
}

TEST(Diagnostics, ControlBytesAndBadUtf8AreMasked) {
  std::string caret;
  EXPECT_EQ(renderSourceLine("a\x01"
                             "b\xff"
                             "c",
                             5, caret),
            "a?b?c");
  EXPECT_EQ(caret, "    ");
  EXPECT_EQ(renderSourceLine("\xc3\xa9x", 3, caret), "\xc3\xa9x");
  EXPECT_EQ(caret, " ") << "a two-byte character is one column wide";
}

TEST(Diagnostics, LongLinesShowAWindowAroundTheColumn) {
  std::string line(100000, 'a');
  line[50000] = 'X';
  std::string caret;
  std::string shown = renderSourceLine(line, 50001, caret);
  EXPECT_LT(shown.size(), 200u);
  EXPECT_EQ(shown.substr(0, 3), "...");
  EXPECT_EQ(shown[caret.size()], 'X');
}

TEST(Diagnostics, ErrorLimitDropsTheRestAndSaysSo) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  diags.setErrorLimit(3);
  for (int i = 0; i < 10; ++i) {
    diags.error({}, "error {}", i);
    diags.note({}, "note {}", i);
  }
  EXPECT_EQ(diags.errorCount(), 3u);
  EXPECT_TRUE(diags.limitReached());
  std::string out = flushed(diags);
  EXPECT_EQ(out.find("error 3"), std::string::npos);
  EXPECT_EQ(out.find("note 3"), std::string::npos);
  EXPECT_NE(out.find("too many errors; only the first 3 are shown"), std::string::npos);
}

TEST(Diagnostics, FileErrorsNameTheFile) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  diags.fileError("params.safetensors", "truncated header");
  EXPECT_EQ(flushed(diags), "params.safetensors: error: truncated header\n");
}

} // namespace
} // namespace nabla
