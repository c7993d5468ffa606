//===- CompileCommand.cpp - `nabla compile` -------------------------------===//
//
// The forward step cut down to the outputs (as predict runs it), compiled
// ahead of time into an object or shared library with a C header
// (codegen/AheadOfTime.h). Without --batch the code serves any batch tile
// by tile, which needs a graph that keeps the examples apart
// (passes/BatchRows.h); with --batch N the batch is fixed at N.
//
//===----------------------------------------------------------------------===//
#include "ArgumentLoader.h"
#include "Commands.h"
#include "Driver.h"

#include "codegen/AheadOfTime.h"
#include "passes/BatchRows.h"
#include "support/FileIO.h"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/raw_ostream.h>

#include <cctype>
#include <set>

namespace nabla::commands {

namespace {

/// Examples per run of the compiled step when the batch is not fixed:
/// large enough for the matmul kernels' tiles, small enough that one
/// example costs little more than a tile.
constexpr int64_t kDefaultTile = 32;

/// The script's file name without its extension, every character that
/// may not be in a C identifier replaced by '_'.
std::string defaultPrefix(const std::string &script) {
  std::string stem = llvm::sys::path::stem(script).str();
  for (char &ch : stem)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_')
      ch = '_';
  if (stem.empty() || std::isdigit(static_cast<unsigned char>(stem[0])))
    stem = "model_" + stem;
  return stem;
}

/// The one symbolic size of the inputs, which must be every input's first
/// axis ("" when all sizes are fixed); false after reporting why not.
bool findBatchSymbol(driver::Compilation &c, const ir::Function &fn, std::string &batch) {
  std::set<std::string> symbols;
  for (const auto &arg : fn.args)
    for (const Dim &d : arg->value.type.shape)
      symbols.insert(d.symbols().begin(), d.symbols().end());
  if (symbols.size() > 1) {
    std::string names;
    for (const std::string &s : symbols)
      names += (names.empty() ? "" : ", ") + s;
    c.diags.error({c.file, 0, 0},
                  "compile binds one symbolic size, the batch, but the inputs have {}: give "
                  "the others fixed sizes in the script",
                  names);
    return false;
  }
  batch = symbols.empty() ? "" : *symbols.begin();
  for (const auto &arg : fn.args) {
    const Shape &shape = arg->value.type.shape;
    if (!batch.empty() && arg->role == ir::ArgRole::Input &&
        (shape.empty() || !(shape[0] == Dim::symbol(batch)))) {
      c.diags.error(arg->loc,
                    "compile needs the batch {} as the first axis of every input; "
                    "'{}' is {}",
                    batch, arg->value.name, arg->value.type.str());
      return false;
    }
  }
  return true;
}

/// Links `object` into the shared library `path` with the system's C
/// compiler driver (LLVM has no linker of its own here).
bool linkSharedLibrary(const std::string &object, const std::string &path, std::string &error) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "writing a shared library needs a C compiler driver (cc) to link it; write an "
            "object (-o OUT.o) instead";
    return false;
  }
  std::string objectPath = path + ".nabla-tmp.o", libraryPath = path + ".nabla-tmp.so";
  if (!writeFileAtomically(objectPath, {object}, error))
    return false;
  std::vector<llvm::StringRef> args = {*cc,        "-shared", "-o",       libraryPath,
                                       objectPath, "-lm",     "-lpthread"};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  llvm::sys::fs::remove(objectPath);
  if (status != 0) {
    llvm::sys::fs::remove(libraryPath);
    error = fmt::format("linking the shared library with {} failed{}{}", *cc,
                        message.empty() ? "" : ": ", message);
    return false;
  }
  if (std::error_code ec = llvm::sys::fs::rename(libraryPath, path)) {
    llvm::sys::fs::remove(libraryPath);
    error = "cannot write it: " + ec.message();
    return false;
  }
  return true;
}

} // namespace

int compile(const cli::Options &options) {
  if (options.interp) {
    driver::errs() << "nabla: error: 'compile' writes native code; --interp does not apply\n";
    return driver::kUsageError;
  }
  driver::Compilation c;
  int exitCode;
  if (!driver::compileToIR(options, c, exitCode))
    return exitCode;
  ir::Function *fn = driver::predictStep(c, options);
  if (!fn)
    return driver::kUserError;

  codegen::AheadOfTimeModel model;
  model.prefix = options.name.empty() ? defaultPrefix(options.script) : options.name;
  model.threads = options.threads;
  model.flushSubnormals = !options.ieeeSubnormals;
  if (!findBatchSymbol(c, *fn, model.batchSymbol)) {
    c.diags.flush(driver::errs());
    return driver::kUserError;
  }
  if (model.batchSymbol.empty()) {
    if (options.batch) {
      driver::errs() << "nabla: error: --batch: the script's inputs have no symbolic batch size\n";
      return driver::kUsageError;
    }
    model.fixedBatch = true; // one run of the declared shapes: batch 1
  } else if (options.batch) {
    model.tile = *options.batch;
    model.fixedBatch = true;
  } else {
    model.tile = kDefaultTile;
    if (std::optional<passes::MixedRows> mixed = passes::findMixedRows(*fn, model.batchSymbol)) {
      c.diags.error(mixed->loc.isValid() ? mixed->loc : SourceLoc{c.file, 0, 0},
                    "the outputs of one example depend on others in its batch ({}): compile "
                    "with --batch N to fix the batch size",
                    mixed->reason);
      c.diags.flush(driver::errs());
      return driver::kUserError;
    }
  }

  driver::ArgumentLoader loader(*fn, c.diags);
  std::map<std::string, Tensor> params;
  if (!options.params.empty()) {
    if (!loader.loadParams(options.params)) {
      c.diags.flush(driver::errs());
      return driver::kUserError;
    }
    params = loader.take(ir::ArgRole::Param);
    for (const ir::Argument *arg : fn->arguments(ir::ArgRole::Param))
      model.embedded.push_back(&params.at(arg->value.name));
  }

  std::string error;
  codegen::CompileOptions codegenOptions = driver::compileOptions(options);
  std::optional<std::string> object = codegen::compileAheadOfTime(
      *fn, model, codegenOptions.target, options.optLevel, c.sources, error);
  if (!object) {
    driver::errs() << "nabla: error: cannot compile " << options.script << ": " << error << "\n";
    return driver::kUserError;
  }
  bool shared = llvm::StringRef(options.object).ends_with(".so");
  if (!(shared ? linkSharedLibrary(*object, options.object, error)
               : writeFileAtomically(options.object, {*object}, error))) {
    driver::errs() << options.object << ": error: " << error << "\n";
    return driver::kUserError;
  }
  std::string header = codegen::aheadOfTimeHeader(*fn, model, options.script);
  if (!writeFileAtomically(options.header, {header}, error)) {
    driver::errs() << options.header << ": error: " << error << "\n";
    return driver::kUserError;
  }
  return driver::kSuccess;
}

} // namespace nabla::commands
