//===- IRParserFuzzer.cpp - libFuzzer target for the text IR reader -------===//
//
// Arbitrary bytes through the .nnir parser and verifier, and, when they are
// accepted, through the printer and the parser again.
//
//===----------------------------------------------------------------------===//
#include "ir/Parser.h"
#include "ir/Printer.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nabla::SourceManager sources;
  nabla::DiagnosticEngine diags(sources);
  uint32_t file =
      sources.addBuffer("fuzz.nnir", std::string(reinterpret_cast<const char *>(data), size));
  auto module = nabla::ir::parseIR(sources, file, diags);
  if (!module)
    return 0;
  // What parses must print and parse back to the same text.
  std::string printed = nabla::ir::toString(*module, sources);
  auto again = nabla::ir::parseIR(sources, sources.addBuffer("printed.nnir", printed), diags);
  if (!again || nabla::ir::toString(*again, sources) != printed)
    std::abort();
  return 0;
}
