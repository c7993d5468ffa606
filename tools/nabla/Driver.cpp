#include "Driver.h"

#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "ir/Lower.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Adjoint.h"

#include <llvm/Support/Casting.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::driver {

bool isIRFile(const std::string &path) { return llvm::StringRef(path).ends_with(".nnir"); }

bool readScript(const cli::Options &options, Compilation &c) {
  std::string error;
  c.file = c.sources.addFile(options.script, error);
  if (c.file == 0) {
    llvm::errs() << "nabla: error: " << error << "\n";
    return false;
  }
  return true;
}

bool parseScript(Compilation &c) {
  c.ast = parseModule(c.sources, c.file, c.diags);
  if (c.diags.hasErrors()) {
    c.diags.flush(llvm::errs());
    return false;
  }
  return true;
}

/// Every --set must name a const of the script.
static bool checkOverrides(const cli::Options &options, const ast::Module &module) {
  for (const auto &[name, value] : options.sets) {
    bool found = false;
    for (const ast::StmtPtr &s : module.statements)
      if (const auto *c = llvm::dyn_cast<ast::ConstStmt>(s.get()))
        found |= c->name == name;
    if (!found) {
      llvm::errs() << "nabla: error: --set " << name << ": the script has no const named '" << name
                   << "'\n";
      return false;
    }
  }
  return true;
}

bool checkScript(const cli::Options &options, Compilation &c, int &exitCode) {
  exitCode = kUserError;
  if (!readScript(options, c))
    return false;
  // Statements that parsed are checked even when others did not: one run
  // reports the syntax errors and the type errors together.
  c.ast = parseModule(c.sources, c.file, c.diags);
  if (!checkOverrides(options, *c.ast)) {
    c.diags.flush(llvm::errs());
    exitCode = kUsageError;
    return false;
  }
  SemaOptions semaOptions;
  semaOptions.constOverrides = options.sets;
  semaOptions.forceF64 = options.f64;
  // Data paths are resolved against the script's folder and kept absolute, so
  // that the IR of the script can be run from anywhere.
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(options.script));
  llvm::sys::fs::make_absolute(dir);
  llvm::sys::path::remove_dots(dir, /*remove_dot_dot=*/true);
  semaOptions.scriptDir = dir.str().str();
  c.program = analyze(*c.ast, c.sources, c.diags, semaOptions);
  if (c.diags.hasErrors()) {
    c.diags.flush(llvm::errs());
    return false;
  }
  exitCode = kSuccess;
  return true;
}

bool compileToIR(const cli::Options &options, Compilation &c, int &exitCode) {
  if (!isIRFile(options.script)) {
    if (!checkScript(options, c, exitCode))
      return false;
    exitCode = kUserError;
    c.ir = ir::lower(*c.program);
    if (!ir::verify(*c.ir, c.diags, "lowering")) {
      c.diags.flush(llvm::errs());
      return false;
    }
    exitCode = kSuccess;
    return true;
  }
  exitCode = kUserError;
  if (!options.sets.empty() || options.f64) {
    llvm::errs() << "nabla: error: --set and --dtype apply to .nn scripts; a .nnir file is "
                    "already lowered\n";
    exitCode = kUsageError;
    return false;
  }
  if (!readScript(options, c))
    return false;
  c.ir = ir::parseIR(c.sources, c.file, c.diags);
  if (!c.ir) {
    c.diags.flush(llvm::errs());
    return false;
  }
  exitCode = kSuccess;
  return true;
}

const ir::Function *functionToRun(Compilation &c, bool withGradients) {
  const ir::Function *forward = c.ir->lookup(ir::kForwardFunction);
  const ir::Function *trainStep = c.ir->lookup(ir::kTrainStepFunction);
  if (!withGradients)
    return forward ? forward : trainStep;
  if (trainStep)
    return trainStep;
  const ir::Function *built =
      passes::differentiate(*c.ir, *forward, ir::kTrainStepFunction, c.diags);
  if (!built || !ir::verify(*built, c.diags, "the adjoint pass")) {
    c.diags.flush(llvm::errs());
    return nullptr;
  }
  return built;
}

} // namespace nabla::driver
