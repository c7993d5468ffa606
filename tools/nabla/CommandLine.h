//===- CommandLine.h - The nabla command line -------------------*- C++ -*-===//
//
// Parses `nabla COMMAND SCRIPT [options]` into Options. Every mistake on the
// command line is reported as `nabla: error: ...` with exit code 2.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nabla::cli {

enum class Command { Check, Dump, Eval, Train, Predict, Gradcheck, Bench, Hessian, Compile };

/// A `NAME=FILE` pair from --feed.
using NamedPath = std::pair<std::string, std::string>;

struct Options {
  Command command = Command::Check;
  std::string script;

  // Compile options (every command that compiles).
  std::vector<std::pair<std::string, double>> sets; ///< --set NAME=VALUE
  bool f64 = false;                                 ///< --dtype f64
  int optLevel = 2;                                 ///< -O0 ... -O3
  int threads = 0;                                  ///< --threads N (0: all cores)
  bool interp = false;                              ///< --interp: the reference interpreter
  int verbose = 0;                                  ///< -v, --verbose N
  bool timePasses = false;                          ///< --time-passes
  bool profile = false;                             ///< bench --profile: time each kernel
  std::string cpu = "native";                       ///< --cpu NAME: the CPU to generate code for
  bool ieeeSubnormals = false; ///< --ieee-subnormals: compiled code keeps subnormals

  // The IR pass pipeline (every command that compiles).
  bool printIRAfterAll = false;                   ///< --print-ir-after-all
  std::vector<std::string> printIRAfter;          ///< --print-ir-after=NAMES
  bool printIRAfterChange = false;                ///< --print-ir-after-change
  std::vector<std::string> disabledPasses;        ///< --disable-pass=NAME
  std::optional<std::vector<std::string>> passes; ///< --passes=NAMES instead of the pipeline

  // dump
  std::string emit; ///< --emit=STAGE

  // eval
  std::string params;           ///< --params P
  std::vector<NamedPath> feeds; ///< --feed NAME=FILE
  std::string outputs;          ///< --outputs O
  std::string grads;            ///< --grads G

  // train
  std::vector<NamedPath> data;   ///< --data NAME=FILE
  std::vector<NamedPath> test;   ///< --test NAME=FILE
  std::optional<int64_t> epochs; ///< --epochs N
  std::optional<double> lr;      ///< --lr X
  std::string init;              ///< --init P
  std::string save;              ///< --save P
  std::string metrics;           ///< --metrics CSV
  std::string plot;              ///< --plot SVG
  bool quiet = false;            ///< --quiet

  // predict
  std::string out; ///< --out O
  std::string hvp; ///< --hvp V (hessian)

  // compile
  std::string object; ///< -o OUT.o|OUT.so
  std::string header; ///< --header OUT.h
  std::string name;   ///< --name PREFIX (default: from the script's file name)

  // gradcheck, train (and dump --emit=llvm|asm for --size)
  std::optional<uint64_t> seed;                       ///< --seed S (default 0, or the script's)
  std::vector<std::pair<std::string, int64_t>> sizes; ///< --size NAME=N
  int64_t samples = 64;                               ///< --samples N

  // bench, train
  std::optional<int64_t> batch; ///< --batch N
  std::optional<int64_t> steps; ///< --steps N
};

/// The result of parsing: options to run, or an exit code (0 after --help).
struct ParseResult {
  std::optional<Options> options;
  int exitCode = 0;
};

ParseResult parseCommandLine(int argc, const char *const *argv);

/// The stage names `dump --emit` accepts.
const std::vector<std::string> &dumpStages();

} // namespace nabla::cli
