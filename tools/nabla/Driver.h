//===- Driver.h - Running the compiler stages for a command -----*- C++ -*-===//
//
// The steps every command shares: read the script, parse it, apply --set,
// check it, lower it to IR (or read a .nnir file). Each step prints its
// diagnostics and reports failure, so a command is a short sequence of calls.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "CommandLine.h"

#include "codegen/Compiler.h"
#include "frontend/AST.h"
#include "frontend/Program.h"
#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <memory>
#include <optional>

namespace llvm {
class raw_ostream;
}

namespace nabla::driver {

/// Seconds spent in each stage, in the order the stages ran.
struct StageTimes {
  std::vector<std::pair<std::string, double>> stages;
  void add(const std::string &stage, double seconds);
};

/// Everything the compiler produced for one script.
struct Compilation {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  uint32_t file = 0;
  std::unique_ptr<ast::Module> ast;
  std::unique_ptr<Program> program;
  std::unique_ptr<ir::Module> ir;
  StageTimes times;
};

/// Where commands write diagnostics and error lines: stderr, unless the
/// calling thread redirected them (the Python module turns them into
/// exceptions). Progress output goes to stderr regardless.
llvm::raw_ostream &errs();
/// Redirects errs() for the calling thread (null: back to stderr).
void setErrorStream(llvm::raw_ostream *os);
/// Where dump prints: stdout, unless redirected for the calling thread.
llvm::raw_ostream &outs();
void setOutputStream(llvm::raw_ostream *os);
/// Makes readScript take the script's text from `text` instead of reading
/// options.script (null: read the file again), for the calling thread: a
/// script given as text in Python runs through every command.
void setScriptText(const std::string *text);

/// Exit codes of the CLI spec.
enum ExitCode { kSuccess = 0, kUserError = 1, kUsageError = 2 };

/// True when `path` names a text-IR file rather than a script.
bool isIRFile(const std::string &path);

/// Reads options.script into `c`. Prints an error and returns false on failure.
bool readScript(const cli::Options &options, Compilation &c);
/// Parses the script read into `c`.
bool parseScript(Compilation &c);
/// Reads, parses and checks a script; on failure returns the exit code in `exitCode`.
bool checkScript(const cli::Options &options, Compilation &c, int &exitCode);
/// Produces c.ir: lowers a checked script, or reads a .nnir file. Verifies it.
bool compileToIR(const cli::Options &options, Compilation &c, int &exitCode);
/// The function that computes the results, and the gradients when
/// `withGradients` (running the adjoint pass unless c.ir already has the
/// train step). Null after reporting an error.
ir::Function *functionToRun(Compilation &c, bool withGradients);

/// The function the steps of train and predict are derived from: @forward,
/// else @train_step, else @train_update (a .nnir file may hold any of them).
const ir::Function *sourceFunction(const Compilation &c);

/// The optimizer a training run uses: the train block's (adam with its
/// defaults without one), with the learning rate of --lr when given.
OptimizerConfig optimizerFor(const Compilation &c, const cli::Options &options);

/// The training step with `optimizer`'s update appended (@train_update,
/// passes/OptimizerUpdate.h), verified. Null after reporting an error.
ir::Function *buildUpdate(Compilation &c, const OptimizerConfig &optimizer);

/// The function a command compiles by default: the training step when the
/// script has a loss, else the forward step. Null after reporting an error.
ir::Function *stepToCompile(Compilation &c);

/// The forward step cut down to the script's outputs (@predict), verified
/// and, unless --interp, optimized: what predict runs and compile writes.
/// Null after reporting an error (among them: the script has no output).
ir::Function *predictStep(Compilation &c, const cli::Options &options);

/// Runs the optimization pipeline on `fn` in place (nothing at -O0), or
/// the passes of --passes, with the printing and disabling options. False
/// after reporting invalid IR.
bool runIRPipeline(Compilation &c, ir::Function &fn, const cli::Options &options);

/// Arguments for `fn` drawn from `seed`: params from their initializers,
/// float inputs from N(0, 1), labels uniformly below the class count of the
/// cross_entropy or one_hot they feed (2 if none). Nothing (after printing
/// why) when a tensor would not fit in memory.
std::optional<std::vector<Tensor>> drawArguments(const ir::Function &fn,
                                                 const ir::SymbolBindings &bindings, uint64_t seed,
                                                 const std::string &script);

/// Binds every symbolic size of `fn`'s arguments: `sizes` first, else
/// `fallback`. Returns false (after printing why) for a --size of a symbol
/// the function does not have.
bool bindSizes(const ir::Function &fn, const std::vector<std::pair<std::string, int64_t>> &sizes,
               int64_t fallback, ir::SymbolBindings &bindings);

/// The code generator's options from the command line: -O, -v, --profile
/// and the target of --cpu (checked when the command line was parsed).
codegen::CompileOptions compileOptions(const cli::Options &options);

/// A code generator for the command line's options; null after printing
/// why not. With `toRun` (every command but dump) the host must be able to
/// run code for --cpu's target: an error naming the features it lacks.
std::unique_ptr<codegen::Compiler> createCompiler(const cli::Options &options, bool toRun);

/// Prints c.times (and the code generator's) as `--time-passes` asks.
void printTimes(const Compilation &c, const codegen::CompileTimes *codegen, llvm::raw_ostream &os);

} // namespace nabla::driver
