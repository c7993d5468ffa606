//===- PassManager.h - Running IR passes in order ----------------*- C++ -*-===//
//
// A pass transforms one function and says whether it changed it. The pass
// manager runs a list of passes in order, verifies the function after every
// change (naming the pass in the error), times each pass, and prints the IR
// after the passes the user asked for (--print-ir-after-all,
// --print-ir-after=NAMES, --print-ir-after-change). Passes can be disabled
// by name (--disable-pass=NAME).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
}

namespace nabla::passes {

struct Pass {
  std::string name;        ///< "simplify"; what --disable-pass and --print-ir-after name
  std::string description; ///< one line, for --help and the docs
  std::function<bool(ir::Function &)> run; ///< returns whether it changed the function
};

struct PassOptions {
  bool printAfterAll = false;
  std::set<std::string> printAfter; ///< pass names
  /// Print after the passes that changed the function: every pass when
  /// nothing else is selected, else the selected ones.
  bool printAfterChange = false;
  std::set<std::string> disabled; ///< pass names
};

/// The time one pass took, summed over its runs in a pipeline.
struct PassTime {
  std::string name;
  double seconds = 0;
  int changes = 0; ///< how many of its runs changed the function
};

class PassManager {
public:
  /// IR dumps go to `dumps` (stderr in the tool).
  PassManager(std::vector<Pass> passes, PassOptions options, const SourceManager &sources,
              DiagnosticEngine &diags, llvm::raw_ostream &dumps);

  /// Runs every enabled pass on `fn`, in order. False (after reporting the
  /// verifier's findings) when a pass left invalid IR.
  bool run(ir::Function &fn);

  /// Per pass name, in first-run order.
  const std::vector<PassTime> &times() const { return times_; }

private:
  std::vector<Pass> passes_;
  PassOptions options_;
  const SourceManager &sources_;
  DiagnosticEngine &diags_;
  llvm::raw_ostream &dumps_;
  std::vector<PassTime> times_;
};

} // namespace nabla::passes
