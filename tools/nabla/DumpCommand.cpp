//===- DumpCommand.cpp - `nabla dump --emit=STAGE` ------------------------===//
#include "Commands.h"
#include "Driver.h"

#include "codegen/Compiler.h"
#include "codegen/MemoryPlanDump.h"
#include "frontend/Lexer.h"
#include "ir/Printer.h"

#include <llvm/Support/raw_ostream.h>

namespace nabla::commands {

/// Prints one token per line: `LINE:COL KIND TEXT`.
static int dumpTokens(driver::Compilation &c) {
  Lexer lexer(c.sources, c.file, &c.diags);
  llvm::raw_ostream &os = driver::outs();
  for (;;) {
    Token tok = lexer.next();
    os << tok.loc.line << ":" << tok.loc.col << " ";
    switch (tok.kind) {
    case TokenKind::Identifier: os << "identifier " << tok.text; break;
    case TokenKind::Number: os << "number " << tok.text; break;
    case TokenKind::String: os << "string " << tok.text; break;
    case TokenKind::Newline: os << "newline"; break;
    case TokenKind::Eof: os << "eof"; break;
    case TokenKind::Error: os << "error"; break;
    default: os << (tok.isKeyword() ? "keyword " : "punct ") << tok.text; break;
    }
    os << "\n";
    if (tok.is(TokenKind::Eof))
      break;
  }
  os.flush();
  if (c.diags.hasErrors()) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  return driver::kSuccess;
}

/// The step the code generator compiles (optimized), for the dumps of
/// compiled code; null (with the exit code) after reporting an error.
static ir::Function *compiledStep(const cli::Options &options, driver::Compilation &c,
                                  int &exitCode) {
  if (!driver::compileToIR(options, c, exitCode))
    return nullptr;
  exitCode = driver::kUserError;
  ir::Function *fn = driver::stepToCompile(c);
  if (!fn || !driver::runIRPipeline(c, *fn, options))
    return nullptr;
  return fn;
}

/// The sizes of the dumps of compiled code: --size, else the script's batch (1 without one).
static bool dumpBindings(const cli::Options &options, const driver::Compilation &c,
                         const ir::Function &fn, ir::SymbolBindings &bindings) {
  int64_t batch = c.ir->train && c.ir->train->batch ? *c.ir->train->batch : 1;
  return driver::bindSizes(fn, options.sizes, batch, bindings);
}

static int dumpMemoryPlan(const cli::Options &options, driver::Compilation &c,
                          const ir::Function &fn) {
  ir::SymbolBindings bindings;
  if (!dumpBindings(options, c, fn, bindings))
    return driver::kUsageError;
  std::string error;
  std::optional<codegen::MemoryPlan> plan =
      codegen::MemoryPlan::plan(fn, bindings, driver::compileOptions(options).target, error);
  if (!plan) {
    driver::errs() << options.script << ": error: " << error << "\n";
    return driver::kUserError;
  }
  codegen::printMemoryPlan(fn, *plan, bindings, driver::outs());
  return driver::kSuccess;
}

static int dumpMachineCode(const cli::Options &options, driver::Compilation &c,
                           const ir::Function &fn) {
  ir::SymbolBindings bindings;
  if (!dumpBindings(options, c, fn, bindings))
    return driver::kUsageError;
  auto compiler = driver::createCompiler(options, false);
  if (!compiler)
    return driver::kUserError;
  std::optional<std::string> text = options.emit == "llvm"
                                        ? compiler->llvmIR(fn, bindings, c.sources, c.diags)
                                        : compiler->assembly(fn, bindings, c.sources, c.diags);
  if (!text) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  driver::outs() << *text;
  return driver::kSuccess;
}

int dump(const cli::Options &options) {
  driver::Compilation c;
  if (options.emit == "memplan" || options.emit == "llvm" || options.emit == "asm") {
    int exitCode;
    ir::Function *fn = compiledStep(options, c, exitCode);
    if (!fn)
      return exitCode;
    return options.emit == "memplan" ? dumpMemoryPlan(options, c, *fn)
                                     : dumpMachineCode(options, c, *fn);
  }

  if (options.emit == "ir" || options.emit == "grad" || options.emit == "update" ||
      options.emit == "opt") {
    int exitCode;
    if (!driver::compileToIR(options, c, exitCode))
      return exitCode;
    ir::Function *fn = options.emit == "update"
                           ? driver::buildUpdate(c, driver::optimizerFor(c, options))
                       : options.emit == "opt" ? driver::stepToCompile(c)
                                               : driver::functionToRun(c, options.emit == "grad");
    if (!fn)
      return driver::kUserError;
    // opt: the step every other command compiles, after the pipeline.
    if (options.emit == "opt" && !driver::runIRPipeline(c, *fn, options))
      return driver::kUserError;
    // The train settings, then the one function of the stage.
    ir::Module shown;
    shown.train = c.ir->train;
    ir::print(shown, c.sources, driver::outs());
    if (shown.train)
      driver::outs() << "\n";
    ir::print(*fn, c.sources, driver::outs());
    return driver::kSuccess;
  }
  if (driver::isIRFile(options.script)) {
    driver::errs() << "nabla: error: --emit=" << options.emit
                   << " shows a .nn script; a .nnir file has the stages from ir on\n";
    return driver::kUsageError;
  }
  if (options.emit == "tokens")
    return driver::readScript(options, c) ? dumpTokens(c) : driver::kUserError;
  if (options.emit == "ast") {
    if (!driver::readScript(options, c) || !driver::parseScript(c))
      return driver::kUserError;
    ast::dump(*c.ast, options.script, driver::outs());
    return driver::kSuccess;
  }
  return driver::kUsageError;
}

} // namespace nabla::commands
