#include "CommandLine.h"

#include "codegen/Target.h"
#include "passes/Pipeline.h"
#include "support/Version.h"

#include <fmt/format.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/Support/raw_ostream.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <llvm/ADT/StringRef.h>
#include <string_view>

namespace nabla::cli {

namespace {

struct CommandInfo {
  Command command;
  const char *name;
  const char *synopsis;
};

/// The commands this build provides, in the order `--help` lists them.
const std::vector<CommandInfo> &commands() {
  static const std::vector<CommandInfo> list = {
      {Command::Check, "check",
       "check SCRIPT                 parse, resolve, type-check; silent "
       "on success"},
      {Command::Dump, "dump", "dump SCRIPT --emit=STAGE     print one stage to stdout"},
      {Command::Eval, "eval",
       "eval SCRIPT --params P --feed NAME=FILE ... [--grads G] [--outputs O]\n"
       "                               one step: loss, metrics, outputs, gradients"},
      {Command::Train, "train",
       "train SCRIPT [--data NAME=FILE ...] [--test NAME=FILE ...] [--epochs N] [--batch N]\n"
       "             [--lr X] [--seed S] [--init P] [--save P] [--metrics CSV] [--plot SVG]\n"
       "             [--quiet]\n"
       "                               train with the script's settings; options override them\n"
       "                               (under mpirun -np N: data-parallel over N ranks)"},
      {Command::Predict, "predict",
       "predict SCRIPT --params P --feed NAME=FILE ... --out O\n"
       "                               forward only: write the outputs (.npy or safetensors)"},
      {Command::Gradcheck, "gradcheck",
       "gradcheck SCRIPT [--seed S] [--size NAME=N] [--samples N]\n"
       "                               compare gradients with finite differences"},
      {Command::Hessian, "hessian",
       "hessian SCRIPT --params P --feed NAME=FILE ... --out H [--hvp V]\n"
       "                               the Hessian of the loss (or H v) by reverse over reverse"},
      {Command::Compile, "compile",
       "compile SCRIPT -o OUT.o|OUT.so --header OUT.h [--params P] [--name PREFIX] [--batch N]\n"
       "                               the forward step as an object and a C header"},
      {Command::Bench, "bench",
       "bench SCRIPT [--batch N] [--steps N] [--profile]\n"
       "                               compile times and the training step's rate"},
  };
  return list;
}

unsigned bit(Command c) { return 1u << static_cast<unsigned>(c); }
constexpr unsigned kAllCommands = ~0u;

struct OptionSpec {
  std::string_view name; ///< "--emit", or "-v"
  bool takesValue;
  unsigned commands; ///< bit(Command) mask
  std::string_view help;
  /// Stores the value; returns an error message, or "" when it is good.
  std::function<std::string(Options &, std::string_view)> apply;
};

std::string parseInt(std::string_view text, int64_t lo, int64_t hi, int64_t &out) {
  const char *end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc() || ptr != end)
    return fmt::format("'{}' is not an integer", text);
  if (out < lo || out > hi)
    return fmt::format("{} is out of range ({} to {})", out, lo, hi);
  return "";
}

std::string parseDouble(std::string_view text, double &out) {
  const char *end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc() || ptr != end || !std::isfinite(out))
    return fmt::format("'{}' is not a finite number", text);
  return "";
}

/// Splits NAME=VALUE; NAME must look like an identifier.
std::string splitNamed(std::string_view text, std::string &name, std::string &value) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return fmt::format("expected NAME=VALUE, got '{}'", text);
  name = std::string(text.substr(0, eq));
  value = std::string(text.substr(eq + 1));
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return fmt::format("'{}' is not a valid name", name);
  }
  return "";
}

std::function<std::string(Options &, std::string_view)>
namedPath(std::vector<NamedPath> Options::*field) {
  return [field](Options &o, std::string_view v) {
    std::string name, file;
    std::string err = splitNamed(v, name, file);
    if (err.empty())
      (o.*field).emplace_back(name, file);
    return err;
  };
}

std::function<std::string(Options &, std::string_view)> path(std::string Options::*field) {
  return [field](Options &o, std::string_view v) {
    o.*field = std::string(v);
    return std::string();
  };
}

/// Appends the comma-separated pass names of `text` to `out`; each must name a pass.
std::string passNames(std::string_view text, std::vector<std::string> &out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string name(text.substr(start, comma - start));
    bool known = false;
    std::string all;
    for (const passes::Pass &p : passes::allPasses()) {
      known |= p.name == name;
      all += (all.empty() ? "" : ", ") + p.name;
    }
    if (!known)
      return fmt::format("unknown pass '{}'; the passes are {}", name, all);
    out.push_back(name);
    start = comma + 1;
  }
  return "";
}

const std::vector<OptionSpec> &optionSpecs() {
  const unsigned compile = kAllCommands;
  const unsigned eval = bit(Command::Eval);
  const unsigned train = bit(Command::Train);
  const unsigned predict = bit(Command::Predict);
  const unsigned hessian = bit(Command::Hessian);
  const unsigned aot = bit(Command::Compile);
  static const std::vector<OptionSpec> specs = {
      {"--set", true, compile, "NAME=VALUE  override a const",
       [](Options &o, std::string_view v) {
         std::string name, value;
         std::string err = splitNamed(v, name, value);
         double number = 0;
         if (err.empty())
           err = parseDouble(value, number);
         if (err.empty())
           o.sets.emplace_back(name, number);
         return err;
       }},
      {"--dtype", true, compile, "f64         compile every f32 value as f64",
       [](Options &o, std::string_view v) {
         if (v == "f64")
           o.f64 = true;
         else if (v != "f32")
           return fmt::format("'{}' is not a dtype; use f64 (or f32, the default)", v);
         return std::string();
       }},
      {"--threads", true, compile, "N         worker threads (default: all cores)",
       [](Options &o, std::string_view v) {
         int64_t n = 0;
         std::string err = parseInt(v, 1, 1024, n);
         o.threads = static_cast<int>(n);
         return err;
       }},
      {"--cpu", true, compile,
       "NAME         the CPU to compile for: an LLVM CPU name (haswell, x86-64-v3,\n"
       "                   skylake-avx512, znver4, ...) or native (default)",
       [](Options &o, std::string_view v) {
         std::string error;
         if (!codegen::targetFor(v, error))
           return error;
         o.cpu = std::string(v);
         return std::string();
       }},
      {"--ieee-subnormals", false, compile,
       "  compiled code keeps IEEE subnormals (default: flushed to zero)",
       [](Options &o, std::string_view) {
         o.ieeeSubnormals = true;
         return std::string();
       }},
      {"--interp", false, compile, "            run on the reference interpreter, not the JIT",
       [](Options &o, std::string_view) {
         o.interp = true;
         return std::string();
       }},
      {"--verbose", true, compile, "N         1: a note for each JIT compile (see docs/cli.md)",
       [](Options &o, std::string_view v) {
         int64_t n = 0;
         std::string err = parseInt(v, 0, 3, n);
         o.verbose = int(n);
         return err;
       }},
      {"--time-passes", false, compile, "       print the time of each compiler stage",
       [](Options &o, std::string_view) {
         o.timePasses = true;
         return std::string();
       }},
      {"--print-ir-after-all", false, compile, "  print the IR after every pass (stderr)",
       [](Options &o, std::string_view) {
         o.printIRAfterAll = true;
         return std::string();
       }},
      {"--print-ir-after", true, compile, "NAMES  print the IR after the named passes",
       [](Options &o, std::string_view v) { return passNames(v, o.printIRAfter); }},
      {"--print-ir-after-change", false, compile, "  only after passes that changed it",
       [](Options &o, std::string_view) {
         o.printIRAfterChange = true;
         return std::string();
       }},
      {"--disable-pass", true, compile, "NAMES    skip the named passes",
       [](Options &o, std::string_view v) { return passNames(v, o.disabledPasses); }},
      {"--passes", true, compile, "NAMES          run exactly these passes, in order",
       [](Options &o, std::string_view v) {
         std::vector<std::string> names;
         std::string err = passNames(v, names);
         o.passes = names;
         return err;
       }},
      {"--emit", true, bit(Command::Dump), "STAGE        the stage to print",
       [](Options &o, std::string_view v) {
         for (const std::string &s : dumpStages())
           if (v == s) {
             o.emit = s;
             return std::string();
           }
         std::string stages;
         for (const std::string &s : dumpStages())
           stages += (stages.empty() ? "" : ", ") + s;
         return fmt::format("unknown stage '{}'; the stages are {}", v, stages);
       }},
      {"--params", true, eval | predict | hessian | aot,
       "P          safetensors file holding every param (compile: embedded)",
       path(&Options::params)},
      {"--feed", true, eval | predict | hessian,
       "NAME=FILE    data for one input (.npy or .safetensors)", namedPath(&Options::feeds)},
      {"--outputs", true, eval, "O         write outputs, metrics and loss (safetensors)",
       path(&Options::outputs)},
      {"--grads", true, eval, "G           write the gradient of every param (safetensors)",
       path(&Options::grads)},
      {"--data", true, train, "NAME=FILE    training data for one input (.idx[.gz], .npy, .csv)",
       namedPath(&Options::data)},
      {"--test", true, train, "NAME=FILE    test data for one input", namedPath(&Options::test)},
      {"--epochs", true, train, "N          epochs to train (default: the script's, or 1)",
       [](Options &o, std::string_view v) {
         int64_t n = 0;
         std::string err = parseInt(v, 0, 1 << 24, n);
         o.epochs = n;
         return err;
       }},
      {"--lr", true, train, "X              the optimizer's learning rate",
       [](Options &o, std::string_view v) {
         double x = 0;
         std::string err = parseDouble(v, x);
         if (err.empty() && !(x > 0))
           err = fmt::format("the learning rate must be greater than 0, not {}", v);
         o.lr = x;
         return err;
       }},
      {"--init", true, train, "P            start from saved params (and optimizer state)",
       path(&Options::init)},
      {"--save", true, train, "P            write the trained params and optimizer state",
       path(&Options::save)},
      {"--metrics", true, train, "CSV       write one row per epoch", path(&Options::metrics)},
      {"--plot", true, train, "SVG          draw the loss and metric curves", path(&Options::plot)},
      {"--quiet", false, train, "           no progress output",
       [](Options &o, std::string_view) {
         o.quiet = true;
         return std::string();
       }},
      {"--out", true, predict | hessian,
       "O             where predict writes the outputs (hessian: H)", path(&Options::out)},
      {"-o", true, aot, "OUT.o|OUT.so     compile: the object file or shared library to write",
       [](Options &o, std::string_view v) {
         llvm::StringRef name(v.data(), v.size());
         if (!name.ends_with(".o") && !name.ends_with(".so"))
           return fmt::format("'{}' ends neither in .o (an object) nor in .so (a shared library)",
                              v);
         o.object = std::string(v);
         return std::string();
       }},
      {"--header", true, aot, "OUT.h       compile: the C header to write", path(&Options::header)},
      {"--name", true, aot,
       "PREFIX        compile: the prefix of the C names (default: the script's)",
       [](Options &o, std::string_view v) {
         bool identifier = !v.empty() && !std::isdigit(static_cast<unsigned char>(v[0]));
         for (char c : v)
           identifier &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
         if (!identifier)
           return fmt::format("'{}' is not a C identifier", v);
         o.name = std::string(v);
         return std::string();
       }},
      {"--hvp", true, hessian, "V             hessian: the product H v with the directions in V",
       path(&Options::hvp)},
      {"--seed", true, bit(Command::Gradcheck) | train,
       "S            seed of the drawn params and inputs (train: of initializers, shuffling)",
       [](Options &o, std::string_view v) {
         int64_t n = 0;
         std::string err = parseInt(v, 0, INT64_MAX, n);
         o.seed = uint64_t(n);
         return err;
       }},
      {"--batch", true, bit(Command::Bench) | train | aot,
       "N           the batch size (default: the script's, or 32; compile: fixed at N)",
       [](Options &o, std::string_view v) {
         int64_t n = 0;
         std::string err = parseInt(v, 1, 1 << 24, n);
         o.batch = n;
         return err;
       }},
      {"--steps", true, bit(Command::Bench), "N           steps timed (default 100)",
       [](Options &o, std::string_view v) {
         int64_t n = 0;
         std::string err = parseInt(v, 1, int64_t(1) << 40, n);
         o.steps = n;
         return err;
       }},
      {"--profile", false, bit(Command::Bench), "        time each kernel of the step",
       [](Options &o, std::string_view) {
         o.profile = true;
         return std::string();
       }},
      {"--size", true, bit(Command::Gradcheck) | bit(Command::Dump) | bit(Command::Bench),
       "NAME=N       a symbolic size (gradcheck: default 3; dump: the batch)",
       [](Options &o, std::string_view v) {
         std::string name, value;
         std::string err = splitNamed(v, name, value);
         int64_t n = 0;
         if (err.empty())
           err = parseInt(value, 1, 1 << 20, n);
         if (err.empty())
           o.sizes.emplace_back(name, n);
         return err;
       }},
      {"--samples", true, bit(Command::Gradcheck),
       "N         coordinates checked per large param (64)",
       [](Options &o, std::string_view v) { return parseInt(v, 1, 1 << 24, o.samples); }},
  };
  return specs;
}

void printUsage(llvm::raw_ostream &os) {
  os << "usage: nabla COMMAND SCRIPT [options]\n\ncommands:\n";
  for (const CommandInfo &c : commands())
    os << "  " << c.synopsis << "\n";
  os << "\noptions:\n";
  for (const OptionSpec &s : optionSpecs()) {
    bool offered = false;
    for (const CommandInfo &c : commands())
      offered |= (s.commands & bit(c.command)) != 0;
    if (offered)
      os << "  " << s.name << (s.takesValue ? " " : "  ") << s.help << "\n";
  }
  os << "  -O0 ... -O3      optimization level (default -O2)\n"
     << "  --help           this text\n  --version        the version\n"
     << "\nSee docs/cli.md for every command and option.\n";
}

ParseResult usageError(const std::string &message) {
  llvm::errs() << "nabla: error: " << message << "\nrun 'nabla --help' for usage\n";
  return {std::nullopt, 2};
}

} // namespace

const std::vector<std::string> &dumpStages() {
  static const std::vector<std::string> stages = {"tokens", "ast",     "ir",   "grad", "update",
                                                  "opt",    "memplan", "llvm", "asm"};
  return stages;
}

ParseResult parseCommandLine(int argc, const char *const *argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty())
    return usageError("no command given");
  for (std::string_view a : args) {
    if (a == "--help" || a == "-h" || a == "help") {
      printUsage(llvm::outs());
      return {std::nullopt, 0};
    }
    if (a == "--version") {
      llvm::outs() << "nabla " << kVersion << " (LLVM " << LLVM_VERSION_STRING << ")\n";
      return {std::nullopt, 0};
    }
  }
  Options options;
  const CommandInfo *command = nullptr;
  for (const CommandInfo &c : commands())
    if (args[0] == c.name)
      command = &c;
  if (!command)
    return usageError(fmt::format("unknown command '{}'", args[0]));
  options.command = command->command;

  bool haveScript = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.size() == 3 && a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3') {
      options.optLevel = a[2] - '0';
      continue;
    }
    if (a == "-v") {
      ++options.verbose;
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::string_view name = a, value;
      bool inlineValue = false;
      if (size_t eq = a.find('='); eq != std::string_view::npos && a.substr(0, 2) == "--") {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inlineValue = true;
      }
      const OptionSpec *spec = nullptr;
      for (const OptionSpec &s : optionSpecs())
        if (s.name == name)
          spec = &s;
      if (!spec || !(spec->commands & bit(options.command)))
        return usageError(fmt::format("'{}' does not take the option '{}'", command->name, name));
      if (spec->takesValue && !inlineValue) {
        if (i + 1 >= args.size())
          return usageError(fmt::format("option '{}' needs a value", name));
        value = args[++i];
      } else if (!spec->takesValue && inlineValue) {
        return usageError(fmt::format("option '{}' takes no value", name));
      }
      std::string err = spec->apply(options, value);
      if (!err.empty())
        return usageError(fmt::format("{}: {}", name, err));
      continue;
    }
    if (haveScript)
      return usageError(
          fmt::format("unexpected argument '{}': '{}' takes one script", a, command->name));
    options.script = std::string(a);
    haveScript = true;
  }
  if (!haveScript)
    return usageError(fmt::format("'{}' needs a script", command->name));
  if (options.command == Command::Dump && options.emit.empty())
    return usageError("'dump' needs --emit=STAGE");
  if (options.command == Command::Predict && options.out.empty())
    return usageError("'predict' needs --out O");
  if (options.command == Command::Hessian && options.out.empty())
    return usageError("'hessian' needs --out H");
  if (options.command == Command::Compile && (options.object.empty() || options.header.empty()))
    return usageError("'compile' needs -o OUT.o|OUT.so and --header OUT.h");
  return {std::move(options), 0};
}

} // namespace nabla::cli
