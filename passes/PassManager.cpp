#include "passes/PassManager.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <llvm/Support/raw_ostream.h>

#include <chrono>

namespace nabla::passes {

PassManager::PassManager(std::vector<Pass> passes, PassOptions options,
                         const SourceManager &sources, DiagnosticEngine &diags,
                         llvm::raw_ostream &dumps)
    : passes_(std::move(passes)), options_(std::move(options)), sources_(sources), diags_(diags),
      dumps_(dumps) {}

bool PassManager::run(ir::Function &fn) {
  for (const Pass &pass : passes_) {
    if (options_.disabled.count(pass.name))
      continue;
    auto start = std::chrono::steady_clock::now();
    bool changed = pass.run(fn);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto time = std::find_if(times_.begin(), times_.end(),
                             [&](const PassTime &t) { return t.name == pass.name; });
    if (time == times_.end())
      time = times_.insert(times_.end(), PassTime{pass.name});
    time->seconds += seconds;
    time->changes += changed;
    if (changed && !ir::verify(fn, diags_, "the " + pass.name + " pass"))
      return false;
    // --print-ir-after-change alone selects every pass; with the others it
    // keeps only the selected passes that changed the function.
    bool asked = options_.printAfterAll || options_.printAfter.count(pass.name) ||
                 (options_.printAfterChange && options_.printAfter.empty());
    if (asked && (changed || !options_.printAfterChange)) {
      // A comment line keeps the dump readable as .nnir text.
      dumps_ << "# *** IR after " << pass.name << " on @" << fn.name
             << (changed ? "" : " (unchanged)") << " ***\n";
      ir::print(fn, sources_, dumps_);
      dumps_.flush();
    }
  }
  return true;
}

} // namespace nabla::passes
