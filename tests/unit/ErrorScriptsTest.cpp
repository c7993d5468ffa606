//===- ErrorScriptsTest.cpp - Every bad script in tests/errors ------------===//
//
// Each tests/errors/*.nn is a mistake a user makes, with the diagnostics it
// must produce written in its header:
//
//   # ERROR: LINE:COL: text the message contains
//   # NOTE: LINE:COL: text a note contains
//
// The script must produce exactly the ERROR lines (same count, positions and
// text, in order of position), and every NOTE line among the notes.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"
#include "frontend/Sema.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace nabla {
namespace {

struct Expected {
  uint32_t line, col;
  std::string text;
};

std::vector<std::filesystem::path> errorScripts() {
  std::vector<std::filesystem::path> paths;
  for (const auto &entry :
       std::filesystem::directory_iterator(std::string(NABLA_SOURCE_DIR) + "/tests/errors"))
    if (entry.path().extension() == ".nn")
      paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

class ErrorScriptTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(ErrorScriptTest, ProducesTheStatedDiagnostics) {
  std::ifstream in(GetParam());
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();

  std::vector<Expected> errors, notes;
  std::regex marker(R"(^# (ERROR|NOTE): (\d+):(\d+): (.*)$)");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, marker)) {
      Expected e{static_cast<uint32_t>(std::stoul(m[2])), static_cast<uint32_t>(std::stoul(m[3])),
                 m[4]};
      (m[1] == "ERROR" ? errors : notes).push_back(e);
    }
  }
  ASSERT_FALSE(errors.empty()) << "the script states no ERROR";

  SourceManager sources;
  DiagnosticEngine diags(sources);
  uint32_t file = sources.addBuffer(GetParam().filename().string(), text);
  auto module = parseModule(sources, file, diags);
  analyze(*module, sources, diags, SemaOptions{});

  std::vector<Diagnostic> got;
  std::string all;
  for (const Diagnostic *d : diags.sorted()) {
    got.push_back(*d);
    all += diags.format(*d);
  }
  ASSERT_EQ(got.size(), errors.size()) << "diagnostics:\n" << all;
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(got[i].loc.line, errors[i].line) << all;
    EXPECT_EQ(got[i].loc.col, errors[i].col) << all;
    EXPECT_NE(got[i].message.find(errors[i].text), std::string::npos)
        << "expected the message to contain: " << errors[i].text << "\n"
        << all;
  }
  for (const Expected &n : notes) {
    bool found = false;
    for (const Diagnostic &d : got)
      for (const Diagnostic &note : d.notes)
        found |= note.loc.line == n.line && note.loc.col == n.col &&
                 note.message.find(n.text) != std::string::npos;
    EXPECT_TRUE(found) << "missing note " << n.line << ":" << n.col << ": " << n.text << "\n"
                       << all;
  }
}

INSTANTIATE_TEST_SUITE_P(Scripts, ErrorScriptTest, ::testing::ValuesIn(errorScripts()),
                         [](const ::testing::TestParamInfo<std::filesystem::path> &info) {
                           return info.param.stem().string();
                         });

TEST(ErrorScripts, ThereAreAtLeastForty) { EXPECT_GE(errorScripts().size(), 40u); }

} // namespace
} // namespace nabla
