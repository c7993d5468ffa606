//===- Networks.h - The test networks as training steps ---------*- C++ -*-===//
//
// The scripts of tests/lit/grad and examples/, each lowered and
// differentiated, with arguments to run them on, and the comparison of two
// runs' tensors; shared by the JIT and the pass tests.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Compiler.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "runtime/Tensor.h"
#include "support/Diagnostics.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace nabla {

/// The .nn scripts of tests/lit/grad and examples/, sorted.
std::vector<std::filesystem::path> networkScripts();

/// A script compiled to its training step, with every symbolic size bound to 5.
struct Network {
  SourceManager sources;
  DiagnosticEngine diags{sources};
  std::unique_ptr<ir::Module> module;
  ir::Function *step = nullptr;
  ir::SymbolBindings bindings;
};

/// Null (after a test failure) when the script does not compile.
std::unique_ptr<Network> loadNetwork(const std::filesystem::path &script, bool f64);

/// Params from their initializers (seed 1), inputs from N(0, 1), labels in {0, 1}.
std::vector<Tensor> networkArguments(const ir::Function &fn, const ir::SymbolBindings &bindings);

/// Expects `actual` to match `expected` within rtol times the largest finite
/// magnitude of `expected` (NaN and infinities exactly).
void expectClose(const Tensor &actual, const Tensor &expected, double rtol,
                 const std::string &what);

/// The CPUs the JIT-against-interpreter tests compile for: the host
/// ("native") and x86-64-v3 (AVX2), so that an AVX-512 host runs the AVX2
/// code paths too (an AVX2 host runs both as well).
std::vector<std::string> testTargets();
/// "" for native, "_x86_64_v3" for x86-64-v3: appended to test names.
std::string targetSuffix(const std::string &cpu);
/// Whether the host can run code for `cpu` (tests for it are skipped if not).
bool hostRuns(const std::string &cpu);

/// One JIT per target for all the tests of the binary.
codegen::Compiler &testCompiler(const std::string &cpu = "native");

/// Parses the IR text `text`, runs its @forward on networkArguments through
/// the JIT (for `cpu`) and the interpreter, and expects every result to
/// agree within 1e-12 (f64) or 1e-5 (f32) of the largest magnitude.
void compareWithInterpreter(const std::string &text, bool f64, const std::string &cpu = "native");

/// Compiles the training step of `script` (f32) with B = `batch`, runs it
/// with 1, 2 and 3 threads, and expects the same bits every time.
void expectSameBitsForAnyThreadCount(const std::string &script, int64_t batch);

/// Name for a parameterized test: "fashion_mlp_f64".
std::string networkTestName(const std::filesystem::path &script, bool f64);

} // namespace nabla
