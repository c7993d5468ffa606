#include "passes/PassManager.h"

#include "ir/Clone.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <llvm/Support/raw_ostream.h>

#include <chrono>
#include <map>
#include <memory>

namespace nabla::passes {

PassManager::PassManager(std::vector<Pass> passes, PassOptions options,
                         const SourceManager &sources, DiagnosticEngine &diags,
                         llvm::raw_ostream &dumps)
    : passes_(std::move(passes)), options_(std::move(options)), sources_(sources), diags_(diags),
      dumps_(dumps) {}

namespace {

/// Runs `pass` on the bodies of `fn`'s loop ops (theirs first), replacing
/// each body it changes by the changed copy; ops sharing a body share the
/// new one. Whether any changed.
bool runOnBodies(const Pass &pass, ir::Function &fn) {
  std::map<const ir::Function *, std::shared_ptr<const ir::Function>> replaced;
  bool changed = false;
  for (auto &op : fn.ops) {
    const ir::Function *body = op->attrs.body.get();
    if (!body)
      continue;
    auto done = replaced.find(body);
    if (done == replaced.end()) {
      auto copy = std::make_shared<ir::Function>(body->name);
      ir::cloneInto(*body, *copy);
      bool bodyChanged = runOnBodies(pass, *copy);
      bodyChanged |= pass.run(*copy);
      done = replaced.emplace(body, bodyChanged ? std::move(copy) : op->attrs.body).first;
    }
    if (done->second != op->attrs.body) {
      op->attrs.body = done->second;
      changed = true;
    }
  }
  return changed;
}

} // namespace

bool PassManager::run(ir::Function &fn) {
  for (const Pass &pass : passes_) {
    if (options_.disabled.count(pass.name))
      continue;
    auto start = std::chrono::steady_clock::now();
    bool changed = runOnBodies(pass, fn);
    changed |= pass.run(fn);
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
