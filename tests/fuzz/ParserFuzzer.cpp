//===- ParserFuzzer.cpp - libFuzzer target for the front end --------------===//
//
// Feeds arbitrary bytes through the lexer, parser, AST printer and Sema, as
// `nabla check` and `nabla dump --emit=ast` do. Any crash, sanitizer report,
// hang or runaway allocation is a bug.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"
#include "frontend/Sema.h"

#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/thread.h>

#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // The tool runs the front end on a thread with a large stack; so does this.
  llvm::thread worker(std::optional<unsigned>(512u << 20), [&] {
    nabla::SourceManager sources;
    nabla::DiagnosticEngine diags(sources);
    uint32_t file =
        sources.addBuffer("fuzz.nn", std::string(reinterpret_cast<const char *>(data), size));
    auto module = nabla::parseModule(sources, file, diags);
    nabla::analyze(*module, sources, diags, nabla::SemaOptions{});
    std::string out;
    llvm::raw_string_ostream os(out);
    nabla::ast::dump(*module, "fuzz.nn", os);
    diags.flush(os);
  });
  worker.join();
  return 0;
}
