#include "Driver.h"

#include "frontend/Parser.h"
#include "frontend/Sema.h"

#include <llvm/Support/Casting.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::driver {

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
  c.module = parseModule(c.sources, c.file, c.diags);
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
  c.module = parseModule(c.sources, c.file, c.diags);
  if (!checkOverrides(options, *c.module)) {
    exitCode = kUsageError;
    return false;
  }
  SemaOptions semaOptions;
  semaOptions.constOverrides = options.sets;
  semaOptions.forceF64 = options.f64;
  semaOptions.scriptDir = llvm::sys::path::parent_path(options.script).str();
  c.program = analyze(*c.module, c.sources, c.diags, semaOptions);
  if (c.diags.hasErrors()) {
    c.diags.flush(llvm::errs());
    return false;
  }
  exitCode = kSuccess;
  return true;
}

} // namespace nabla::driver
