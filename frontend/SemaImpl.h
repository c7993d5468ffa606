//===- SemaImpl.h - Sema's internals, shared by its .cpp files --*- C++ -*-===//
//
// Sema evaluates the script abstractly: every expression becomes a Value that
// is either known at compile time (a number, a list, a string, a size) or a
// tensor Node of the program being built. `def` bodies are evaluated again at
// every call with the arguments bound, which is how they are expanded.
//
//   Sema.cpp          statements, names, scopes, operators, def calls
//   SemaBuiltins.cpp  argument binding and the shape rule of every builtin
//   SemaTrain.cpp     declared types, initializers and the train block
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Builtins.h"
#include "frontend/Sema.h"

#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace nabla::sema {

/// The result of evaluating an expression.
struct Value {
  enum class Kind {
    Poison,   ///< an error was already reported, or a def parameter being checked
    Tensor,   ///< a node of the program
    Number,   ///< a compile-time scalar
    Bool,     ///< true or false
    String,   ///< a string literal
    List,     ///< [a, b, ...]
    Record,   ///< {name: value, ...}
    Size,     ///< a symbolic size or a product with one (only in shapes)
    Function, ///< a def
  };
  Kind kind = Kind::Poison;
  SourceLoc loc;
  Node *node = nullptr;                ///< Tensor
  double number = 0;                   ///< Number
  bool boolean = false;                ///< Bool
  std::string text;                    ///< String
  std::vector<Value> items;            ///< List elements, Record values
  std::vector<std::string> fieldNames; ///< Record
  std::vector<SourceLoc> fieldLocs;    ///< Record
  Dim size;                            ///< Size
  const ast::DefStmt *def = nullptr;   ///< Function

  bool isPoison() const { return kind == Kind::Poison; }
  static Value poison(SourceLoc loc = {}) {
    Value v;
    v.loc = loc;
    return v;
  }
  static Value makeTensor(Node *node, SourceLoc loc);
  static Value makeNumber(double number, SourceLoc loc);
  /// How the value reads in a message: "a tensor f32[B, 784]", "a list".
  std::string describe() const;
};

/// Names used outside expressions, for pointed errors when they appear in one.
bool isInitializerName(std::string_view name);
bool isOptimizerName(std::string_view name);
bool isDataSourceName(std::string_view name);

enum class BindingKind { Input, Param, Const, Value, Output, Metric, Function, DefParam, Local };
/// "an input", "a const", "a function".
const char *describe(BindingKind kind);

struct Binding {
  BindingKind kind;
  Value value;
  SourceLoc loc;
};

/// The names visible at a point: the globals, or one expansion of a def body.
struct Scope {
  std::unordered_map<std::string, Binding> names;
  /// Names this scope binds further down, for "used before its definition".
  std::unordered_map<std::string, SourceLoc> later;
  /// Names whose definition had an error: uses are silent, not "unknown".
  std::unordered_set<std::string> failed;
  const ast::DefStmt *def = nullptr; ///< the def whose body this is; null for globals
  /// A def body checked where it is defined: its parameters are unknown, so
  /// only names and signatures are checked; types are checked at each call.
  bool checkingOnly = false;
};

/// A call argument matched with a signature parameter.
struct BoundArg {
  const ParamSpec *spec = nullptr;
  const ast::Expr *expr = nullptr; ///< null when the default applies
  Value value;
  SourceLoc loc; ///< the argument, or the call for a default
  bool given() const { return expr != nullptr; }
};

class Sema {
public:
  Sema(const SourceManager &sources, DiagnosticEngine &diags, const SemaOptions &options);
  std::unique_ptr<Program> run(const ast::Module &module);

  //===--- Diagnostics (Sema.cpp) ---===//
  template <typename... Args>
  void error(SourceLoc loc, fmt::format_string<Args...> format, Args &&...args) {
    reportError(loc, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void note(SourceLoc loc, fmt::format_string<Args...> format, Args &&...args) {
    if (!lastErrorSuppressed_)
      diags_.note(loc, format, std::forward<Args>(args)...);
  }
  void reportError(SourceLoc loc, std::string message);
  /// Notes where a tensor operand got its type (a declaration or a named value).
  void noteOrigin(const Node *node);

  //===--- Expressions (Sema.cpp) ---===//
  Value eval(const ast::Expr &e, Scope &scope);
  Value evalName(const ast::NameExpr &e, Scope &scope);
  Value evalBinary(const ast::BinaryExpr &e, Scope &scope);
  Value evalCall(const ast::CallExpr &e, Scope &scope);
  /// x[i, a:b, ...] (SemaIndex.cpp).
  Value evalIndex(const ast::IndexExpr &e, Scope &scope);
  Value callDef(const ast::DefStmt &def, const ast::CallExpr &call, Scope &scope);
  /// The body of `def` with its parameters bound to `args` (one per
  /// parameter), called from `at`.
  Value expandDef(const ast::DefStmt &def, const std::vector<Value> &args, SourceLoc at);
  /// scan(f, init, xs, extras..., axis=0, reverse=false) (SemaScan.cpp).
  Value evalScan(const ast::CallExpr &e, Scope &scope);
  /// A compile-time number, or an error naming `what`.
  std::optional<double> evalNumber(const ast::Expr &e, Scope &scope, std::string_view what);

  //===--- Nodes ---===//
  /// A new node, or null (reported) once the program grows past its limit.
  Node *newNode(Node::Kind kind, TensorType type, SourceLoc loc);
  /// The tensor of `v`; a number becomes a weak scalar constant. Null if `v`
  /// is not a tensor or a number (no error reported).
  Node *tensorOf(const Value &v);

  //===--- Builtins (SemaBuiltins.cpp) ---===//
  /// Matches `call`'s arguments with `sig` and evaluates them in `scope`.
  std::optional<std::vector<BoundArg>>
  bindArguments(const Signature &sig, const ast::CallExpr *call, SourceLoc loc, Scope &scope);
  /// Applies a builtin to bound arguments: checks and builds its node.
  Value applyBuiltin(Builtin id, std::vector<BoundArg> &args, SourceLoc loc);

  std::optional<int64_t> argInt(const BoundArg &arg, std::string_view what);
  std::optional<double> argNumber(const BoundArg &arg, std::string_view what);
  std::optional<bool> argBool(const BoundArg &arg, std::string_view what);
  std::optional<std::string> argString(const BoundArg &arg, std::string_view what);

  //===--- Types, initializers, train block (SemaTrain.cpp) ---===//
  std::optional<TensorType> resolveType(const ast::TypeExpr &type, const std::string &declName,
                                        bool isParam);
  std::optional<Initializer> resolveInitializer(const ast::ParamStmt &param,
                                                const TensorType &type);
  void checkTrain(const ast::TrainStmt &train);
  /// lm's conditions, once the whole script is checked: the loss is an mse,
  /// the params are few enough. Errors point at the optimizer.
  void checkLevenbergMarquardt();

private:
  //===--- Statements (Sema.cpp) ---===//
  void collectLaterNames(const ast::Module &module);
  void checkStatement(const ast::Stmt &stmt);
  /// Binds `name` in `scope`, reporting a redefinition or a clash with a builtin.
  bool bind(Scope &scope, const std::string &name, BindingKind kind, Value value, SourceLoc loc);
  /// Gives an unnamed node the user's name (the IR prints it).
  void nameNode(const Value &v, const std::string &name, SourceLoc loc);
  void checkDefBody(const ast::DefStmt &def);
  const Binding *lookup(Scope &scope, const std::string &name);
  void reportUnknownName(const std::string &name, SourceLoc loc, Scope &scope, bool isCall);

  /// One dimension of a declared type; false after an error.
  bool resolveDim(const ast::Expr &e, const std::string &declName, bool isParam, Dim &out);
  std::vector<std::pair<std::string, DataSource>> checkSources(const ast::Expr &e,
                                                               std::string_view key);
  std::optional<DataSource> checkSource(const ast::Expr &e);
  std::optional<OptimizerConfig> checkOptimizer(const ast::Expr &e);
  std::optional<int64_t> checkCount(const ast::Expr &e, std::string_view key, int64_t minimum);

  const SourceManager &sources_;
  DiagnosticEngine &diags_;
  const SemaOptions &options_;
  std::unique_ptr<Program> program_;
  Scope globals_;
  std::unordered_map<std::string, SourceLoc> symbols_; ///< symbolic sizes, first use
  std::unordered_set<std::string> laterConsts_;        ///< every const of the script
  std::vector<std::pair<std::string, SourceLoc>> callStack_;
  std::set<std::tuple<uint32_t, uint32_t, uint32_t, std::string>> reported_;
  bool lastErrorSuppressed_ = false;
  bool nodeLimitReported_ = false;
  unsigned expansions_ = 0;
  unsigned evalDepth_ = 0; ///< nesting of eval() calls, across def expansions
  SourceLoc trainLoc_;
};

} // namespace nabla::sema
