//===- AST.h - Syntax tree of a .nn script ----------------------*- C++ -*-===//
//
// The parser's output: statements and expressions exactly as written, each
// with its source position. Nothing here is resolved or typed; Sema does that.
// Nodes use LLVM-style RTTI (`llvm::isa`, `llvm::dyn_cast`) on their kind.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/SourceManager.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
}

namespace nabla::ast {

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

enum class ExprKind { Number, String, Name, Unary, Binary, Call, List, Record, Index };

class Expr {
public:
  virtual ~Expr() = default;
  ExprKind kind() const { return kind_; }
  /// The position that best identifies the expression: a literal's or name's
  /// first character, a call's function name, a binary expression's operator.
  SourceLoc loc() const { return loc_; }
  /// Nesting height of the tree below (a leaf is 1); bounded by the parser so
  /// that recursive walks over any accepted tree stay shallow.
  uint32_t height() const { return height_; }

protected:
  Expr(ExprKind kind, SourceLoc loc, uint32_t height = 1)
      : kind_(kind), loc_(loc), height_(height) {}

private:
  ExprKind kind_;
  SourceLoc loc_;
  uint32_t height_;
};
using ExprPtr = std::unique_ptr<Expr>;

/// `3`, `0.5`, `1e-3`. Numbers take the floating type of their surroundings.
class NumberExpr : public Expr {
public:
  NumberExpr(SourceLoc loc, double value, bool isInteger, std::string spelling)
      : Expr(ExprKind::Number, loc), value(value), isInteger(isInteger),
        spelling(std::move(spelling)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Number; }
  double value;
  bool isInteger; ///< written without '.' or exponent
  std::string spelling;
};

/// `"train-images.gz"`, with escapes resolved.
class StringExpr : public Expr {
public:
  StringExpr(SourceLoc loc, std::string value)
      : Expr(ExprKind::String, loc), value(std::move(value)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::String; }
  std::string value;
};

/// A reference to a name: a value, const, input, param, symbolic size or builtin constant.
class NameExpr : public Expr {
public:
  NameExpr(SourceLoc loc, std::string name) : Expr(ExprKind::Name, loc), name(std::move(name)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Name; }
  std::string name;
};

enum class UnaryOp { Neg };

class UnaryExpr : public Expr {
public:
  UnaryExpr(SourceLoc loc, UnaryOp op, ExprPtr operand)
      : Expr(ExprKind::Unary, loc, operand->height() + 1), op(op), operand(std::move(operand)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Unary; }
  UnaryOp op;
  ExprPtr operand;
};

enum class BinaryOp { Add, Sub, Mul, Div, MatMul, Pow, Eq, Ne, Lt, Le, Gt, Ge };

/// The operator as written: "+", "@", "**", "<=".
const char *spelling(BinaryOp op);
bool isComparison(BinaryOp op);

class BinaryExpr : public Expr {
public:
  BinaryExpr(SourceLoc opLoc, BinaryOp op, ExprPtr lhs, ExprPtr rhs)
      : Expr(ExprKind::Binary, opLoc, std::max(lhs->height(), rhs->height()) + 1), op(op),
        lhs(std::move(lhs)), rhs(std::move(rhs)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Binary; }
  BinaryOp op;
  ExprPtr lhs, rhs;
};

/// One call argument: positional when `name` is empty, else `name=value`.
struct Argument {
  std::string name;
  SourceLoc nameLoc;
  ExprPtr value;
};

/// `f(a, b, axis=1)`. `loc` is the function name.
class CallExpr : public Expr {
public:
  CallExpr(SourceLoc loc, std::string callee, std::vector<Argument> args, uint32_t height)
      : Expr(ExprKind::Call, loc, height), callee(std::move(callee)), args(std::move(args)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Call; }
  std::string callee;
  std::vector<Argument> args;
};

/// `[a, b, c]`. `loc` is the '['.
class ListExpr : public Expr {
public:
  ListExpr(SourceLoc loc, std::vector<ExprPtr> elements, uint32_t height)
      : Expr(ExprKind::List, loc, height), elements(std::move(elements)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::List; }
  std::vector<ExprPtr> elements;
};

struct RecordField {
  std::string name;
  SourceLoc nameLoc;
  ExprPtr value;
};

/// `{x: idx("a.gz"), y: idx("b.gz")}`. `loc` is the '{'.
class RecordExpr : public Expr {
public:
  RecordExpr(SourceLoc loc, std::vector<RecordField> fields, uint32_t height)
      : Expr(ExprKind::Record, loc, height), fields(std::move(fields)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Record; }
  std::vector<RecordField> fields;
};

/// One entry of an index `x[...]`: an integer `i`, a slice `lo:hi` (either
/// bound may be left out) or `...`.
struct IndexItem {
  enum class Kind { Integer, Slice, Ellipsis };
  Kind kind = Kind::Integer;
  SourceLoc loc;   ///< the entry's first character
  ExprPtr integer; ///< Integer
  ExprPtr lo, hi;  ///< Slice: null where left out
};

/// `base[items]` (language.md §11). `loc` is the '['.
class IndexExpr : public Expr {
public:
  IndexExpr(SourceLoc loc, ExprPtr base, std::vector<IndexItem> items, uint32_t height)
      : Expr(ExprKind::Index, loc, height), base(std::move(base)), items(std::move(items)) {}
  static bool classof(const Expr *e) { return e->kind() == ExprKind::Index; }
  ExprPtr base;
  std::vector<IndexItem> items;
};

/// A tensor type as written: `f32[B, 784]`, `[784, H]`, `f32`, `f32[]`.
struct TypeExpr {
  SourceLoc loc;
  std::string dtype; ///< empty when left out
  SourceLoc dtypeLoc;
  bool hasDims = false; ///< brackets were written
  std::vector<ExprPtr> dims;
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

enum class StmtKind { Input, Param, Const, Assign, Def, Output, Metric, Loss, Train };

class Stmt {
public:
  virtual ~Stmt() = default;
  StmtKind kind() const { return kind_; }
  /// The statement's first token (its keyword, or the name of an assignment).
  SourceLoc loc() const { return loc_; }

protected:
  Stmt(StmtKind kind, SourceLoc loc) : kind_(kind), loc_(loc) {}

private:
  StmtKind kind_;
  SourceLoc loc_;
};
using StmtPtr = std::unique_ptr<Stmt>;

/// A statement that binds a name (all but `loss` and `train`).
class NamedStmt : public Stmt {
public:
  static bool classof(const Stmt *s) {
    return s->kind() != StmtKind::Loss && s->kind() != StmtKind::Train;
  }
  std::string name;
  SourceLoc nameLoc;

protected:
  NamedStmt(StmtKind kind, SourceLoc loc, std::string name, SourceLoc nameLoc)
      : Stmt(kind, loc), name(std::move(name)), nameLoc(nameLoc) {}
};

class InputStmt : public NamedStmt {
public:
  InputStmt(SourceLoc loc, std::string name, SourceLoc nameLoc, TypeExpr type)
      : NamedStmt(StmtKind::Input, loc, std::move(name), nameLoc), type(std::move(type)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Input; }
  TypeExpr type;
};

class ParamStmt : public NamedStmt {
public:
  ParamStmt(SourceLoc loc, std::string name, SourceLoc nameLoc, TypeExpr type, ExprPtr init)
      : NamedStmt(StmtKind::Param, loc, std::move(name), nameLoc), type(std::move(type)),
        init(std::move(init)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Param; }
  TypeExpr type;
  ExprPtr init; ///< null when `= INIT` is left out
};

class ConstStmt : public NamedStmt {
public:
  ConstStmt(SourceLoc loc, std::string name, SourceLoc nameLoc, ExprPtr value)
      : NamedStmt(StmtKind::Const, loc, std::move(name), nameLoc), value(std::move(value)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Const; }
  ExprPtr value;
};

/// `NAME = EXPR` at top level or inside a `def` block.
class AssignStmt : public NamedStmt {
public:
  AssignStmt(SourceLoc loc, std::string name, ExprPtr value)
      : NamedStmt(StmtKind::Assign, loc, std::move(name), loc), value(std::move(value)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Assign; }
  ExprPtr value;
};

struct DefParam {
  std::string name;
  SourceLoc loc;
};

/// `def f(a, b) = EXPR`, or the block form with local assignments and a return.
class DefStmt : public NamedStmt {
public:
  DefStmt(SourceLoc loc, std::string name, SourceLoc nameLoc, std::vector<DefParam> params,
          std::vector<std::unique_ptr<AssignStmt>> locals, ExprPtr result, SourceLoc resultLoc,
          bool isBlock)
      : NamedStmt(StmtKind::Def, loc, std::move(name), nameLoc), params(std::move(params)),
        locals(std::move(locals)), result(std::move(result)), resultLoc(resultLoc),
        isBlock(isBlock) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Def; }
  std::vector<DefParam> params;
  std::vector<std::unique_ptr<AssignStmt>> locals;
  ExprPtr result;
  SourceLoc resultLoc; ///< the `return` keyword, or the `=` of the short form
  bool isBlock;
};

/// `output NAME = EXPR`, or `output NAME` for a value defined earlier.
class OutputStmt : public NamedStmt {
public:
  OutputStmt(SourceLoc loc, std::string name, SourceLoc nameLoc, ExprPtr value)
      : NamedStmt(StmtKind::Output, loc, std::move(name), nameLoc), value(std::move(value)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Output; }
  ExprPtr value; ///< null for `output NAME`
};

class MetricStmt : public NamedStmt {
public:
  MetricStmt(SourceLoc loc, std::string name, SourceLoc nameLoc, ExprPtr value)
      : NamedStmt(StmtKind::Metric, loc, std::move(name), nameLoc), value(std::move(value)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Metric; }
  ExprPtr value;
};

class LossStmt : public Stmt {
public:
  LossStmt(SourceLoc loc, ExprPtr value) : Stmt(StmtKind::Loss, loc), value(std::move(value)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Loss; }
  ExprPtr value;
};

struct TrainEntry {
  std::string key;
  SourceLoc keyLoc;
  ExprPtr value;
};

class TrainStmt : public Stmt {
public:
  TrainStmt(SourceLoc loc, std::vector<TrainEntry> entries)
      : Stmt(StmtKind::Train, loc), entries(std::move(entries)) {}
  static bool classof(const Stmt *s) { return s->kind() == StmtKind::Train; }
  std::vector<TrainEntry> entries;
};

/// A parsed script.
struct Module {
  uint32_t file = 0;
  std::vector<StmtPtr> statements;
  /// Names bound by statements that failed to parse: their uses are not
  /// reported again as unknown.
  std::vector<std::string> brokenNames;
};

/// The position of an expression's first character (its leftmost operand).
SourceLoc beginLoc(const Expr &e);

/// Prints the tree with one node per line and its `<line:col>` (`dump --emit=ast`).
void dump(const Module &module, const std::string &fileName, llvm::raw_ostream &os);
/// Prints an expression as source text (fully parenthesized where nested).
std::string toSource(const Expr &e);

} // namespace nabla::ast
