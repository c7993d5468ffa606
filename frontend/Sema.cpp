//===- Sema.cpp - Statements, names, operators and def calls --------------===//
#include "frontend/SemaImpl.h"

#include <llvm/Support/Casting.h>

#include <cmath>

namespace nabla {

using llvm::cast;
using llvm::dyn_cast;

namespace sema {

Value Value::makeTensor(Node *node, SourceLoc loc) {
  Value v;
  v.kind = Kind::Tensor;
  v.node = node;
  v.loc = loc;
  return v;
}

Value Value::makeNumber(double number, SourceLoc loc) {
  Value v;
  v.kind = Kind::Number;
  v.number = number;
  v.loc = loc;
  return v;
}

std::string Value::describe() const {
  switch (kind) {
  case Kind::Poison: return "an invalid value";
  case Kind::Tensor: return "a tensor " + node->type.str();
  case Kind::Number: return fmt::format("the number {}", number);
  case Kind::Bool: return boolean ? "the boolean true" : "the boolean false";
  case Kind::String: return "a string";
  case Kind::List: return "a list";
  case Kind::Record: return "a record";
  case Kind::Size: return "the symbolic size " + size.str();
  case Kind::Function: return "the function '" + def->name + "'";
  }
  return "a value";
}

const char *describe(BindingKind kind) {
  switch (kind) {
  case BindingKind::Input: return "an input";
  case BindingKind::Param: return "a param";
  case BindingKind::Const: return "a const";
  case BindingKind::Value: return "a value";
  case BindingKind::Output: return "an output";
  case BindingKind::Metric: return "a metric";
  case BindingKind::Function: return "a function";
  case BindingKind::DefParam: return "a parameter";
  case BindingKind::Local: return "a local value";
  }
  return "a name";
}

Sema::Sema(const SourceManager &sources, DiagnosticEngine &diags, const SemaOptions &options)
    : sources_(sources), diags_(diags), options_(options), program_(std::make_unique<Program>()) {
  program_->floatType = options.forceF64 ? DType::F64 : DType::F32;
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

void Sema::reportError(SourceLoc loc, std::string message) {
  // A def body is checked again at every call: say each thing once.
  if (!reported_.emplace(loc.file, loc.line, loc.col, message).second) {
    lastErrorSuppressed_ = true;
    return;
  }
  lastErrorSuppressed_ = false;
  diags_.report(Severity::Error, loc, std::move(message));
  for (auto frame = callStack_.rbegin(); frame != callStack_.rend(); ++frame)
    diags_.note(frame->second, "in the call to '{}' here", frame->first);
}

void Sema::noteOrigin(const Node *node) {
  if (!node)
    return;
  if (node->kind == Node::Kind::Input || node->kind == Node::Kind::Param)
    note(node->loc, "'{}' is declared here as {}", node->name, node->type.str());
  else if (!node->name.empty() && node->nameLoc.isValid())
    note(node->nameLoc, "'{}' is {}, defined here", node->name, node->type.str());
}

//===----------------------------------------------------------------------===//
// Nodes
//===----------------------------------------------------------------------===//

Node *Sema::newNode(Node::Kind kind, TensorType type, SourceLoc loc) {
  if (program_->nodes.size() >= SemaLimits::kMaxNodes) {
    if (!nodeLimitReported_)
      error(loc, "the program is too large: more than {} operations after expanding functions",
            SemaLimits::kMaxNodes);
    nodeLimitReported_ = true;
    return nullptr;
  }
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->type = std::move(type);
  node->loc = loc;
  node->id = static_cast<unsigned>(program_->nodes.size());
  program_->nodes.push_back(std::move(node));
  return program_->nodes.back().get();
}

Node *Sema::tensorOf(const Value &v) {
  if (v.kind == Value::Kind::Tensor)
    return v.node;
  if (v.kind != Value::Kind::Number)
    return nullptr;
  Node *n = newNode(Node::Kind::Constant, TensorType{program_->floatType, {}}, v.loc);
  if (n) {
    n->constant = v.number;
    n->weak = true;
  }
  return n;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

std::unique_ptr<Program> Sema::run(const ast::Module &module) {
  program_->file = module.file;
  collectLaterNames(module);
  for (const ast::StmtPtr &stmt : module.statements) {
    if (diags_.limitReached())
      break;
    checkStatement(*stmt);
  }
  if (trainLoc_.isValid() && !program_->loss && !diags_.hasErrors())
    error(trainLoc_, "the script has a train block but no 'loss' statement to minimize");
  checkLevenbergMarquardt();
  for (const auto &[name, loc] : symbols_)
    program_->symbols.push_back({name, loc});
  std::sort(program_->symbols.begin(), program_->symbols.end(),
            [](const SymbolDecl &a, const SymbolDecl &b) { return a.loc < b.loc; });
  return std::move(program_);
}

void Sema::collectLaterNames(const ast::Module &module) {
  for (const ast::StmtPtr &stmt : module.statements) {
    if (const auto *named = dyn_cast<ast::NamedStmt>(stmt.get()))
      globals_.later.emplace(named->name, named->nameLoc);
    if (const auto *c = dyn_cast<ast::ConstStmt>(stmt.get()))
      laterConsts_.insert(c->name);
  }
  for (const std::string &name : module.brokenNames)
    globals_.failed.insert(name);
}

bool Sema::bind(Scope &scope, const std::string &name, BindingKind kind, Value value,
                SourceLoc loc) {
  if (lookupBuiltin(name) || name == "true" || name == "false") {
    error(loc, "'{}' is a builtin {} and cannot be redefined", name,
          lookupBuiltin(name) ? "function" : "constant");
    scope.failed.insert(name);
    return false;
  }
  if (auto symbol = symbols_.find(name); symbol != symbols_.end()) {
    error(loc, "'{}' is already a symbolic size; a size and a value cannot share a name", name);
    note(symbol->second, "'{}' is first used as a size here", name);
    scope.failed.insert(name);
    return false;
  }
  auto clash = [&](const Binding &first) {
    error(loc, "redefinition of '{}'", name);
    note(first.loc, "'{}' is first defined here as {}", name, describe(first.kind));
  };
  if (auto it = scope.names.find(name); it != scope.names.end()) {
    clash(it->second);
    return false;
  }
  if (scope.def) {
    auto it = globals_.names.find(name);
    if (it != globals_.names.end() &&
        (it->second.kind == BindingKind::Const || it->second.kind == BindingKind::Function)) {
      clash(it->second);
      return false;
    }
  }
  scope.names.emplace(name, Binding{kind, std::move(value), loc});
  return true;
}

void Sema::nameNode(const Value &v, const std::string &name, SourceLoc loc) {
  if (v.kind != Value::Kind::Tensor || !v.node->name.empty())
    return;
  v.node->name = name;
  v.node->nameLoc = loc;
}

void Sema::checkStatement(const ast::Stmt &stmt) {
  if (const auto *in = dyn_cast<ast::InputStmt>(&stmt)) {
    Value v = Value::poison(in->nameLoc);
    if (auto type = resolveType(in->type, in->name, /*isParam=*/false)) {
      if (Node *node = newNode(Node::Kind::Input, *type, in->nameLoc)) {
        node->name = in->name;
        node->index = static_cast<unsigned>(program_->inputs.size());
        program_->inputs.push_back({in->name, in->nameLoc, node});
        v = Value::makeTensor(node, in->nameLoc);
      }
    }
    bind(globals_, in->name, BindingKind::Input, v, in->nameLoc);
    return;
  }
  if (const auto *param = dyn_cast<ast::ParamStmt>(&stmt)) {
    Value v = Value::poison(param->nameLoc);
    if (auto type = resolveType(param->type, param->name, /*isParam=*/true)) {
      if (auto init = resolveInitializer(*param, *type)) {
        if (Node *node = newNode(Node::Kind::Param, *type, param->nameLoc)) {
          node->name = param->name;
          node->index = static_cast<unsigned>(program_->params.size());
          program_->params.push_back({param->name, param->nameLoc, node, *init});
          v = Value::makeTensor(node, param->nameLoc);
        }
      }
    }
    bind(globals_, param->name, BindingKind::Param, v, param->nameLoc);
    return;
  }
  if (const auto *c = dyn_cast<ast::ConstStmt>(&stmt)) {
    std::optional<double> value = evalNumber(*c->value, globals_, "a const");
    for (const auto &[name, override] : options_.constOverrides)
      if (name == c->name)
        value = override;
    Value v = value ? Value::makeNumber(*value, c->nameLoc) : Value::poison(c->nameLoc);
    if (bind(globals_, c->name, BindingKind::Const, v, c->nameLoc) && value)
      program_->consts.push_back({c->name, c->nameLoc, *value});
    return;
  }
  if (const auto *a = dyn_cast<ast::AssignStmt>(&stmt)) {
    Value v = eval(*a->value, globals_);
    nameNode(v, a->name, a->nameLoc);
    bind(globals_, a->name, BindingKind::Value, v, a->nameLoc);
    return;
  }
  if (const auto *def = dyn_cast<ast::DefStmt>(&stmt)) {
    checkDefBody(*def);
    Value v;
    v.kind = Value::Kind::Function;
    v.def = def;
    v.loc = def->nameLoc;
    bind(globals_, def->name, BindingKind::Function, v, def->nameLoc);
    return;
  }
  if (const auto *out = dyn_cast<ast::OutputStmt>(&stmt)) {
    Value v;
    if (out->value) {
      v = eval(*out->value, globals_);
      nameNode(v, out->name, out->nameLoc);
      if (!bind(globals_, out->name, BindingKind::Output, v, out->nameLoc))
        return;
    } else {
      ast::NameExpr ref(out->nameLoc, out->name);
      v = evalName(ref, globals_);
    }
    for (const NamedResult &prev : program_->outputs)
      if (prev.name == out->name) {
        error(out->nameLoc, "'{}' is already an output", out->name);
        note(prev.loc, "first declared as an output here");
        return;
      }
    Node *node = tensorOf(v);
    if (!node) {
      if (!v.isPoison())
        error(out->nameLoc, "an output must be a tensor, but '{}' is {}", out->name, v.describe());
      return;
    }
    program_->outputs.push_back({out->name, out->nameLoc, node});
    return;
  }
  if (const auto *m = dyn_cast<ast::MetricStmt>(&stmt)) {
    Value v = eval(*m->value, globals_);
    nameNode(v, m->name, m->nameLoc);
    if (!bind(globals_, m->name, BindingKind::Metric, v, m->nameLoc))
      return;
    Node *node = tensorOf(v);
    if (!node) {
      if (!v.isPoison())
        error(ast::beginLoc(*m->value), "a metric must be a scalar tensor, but this is {}",
              v.describe());
      return;
    }
    if (!node->type.isScalar()) {
      error(ast::beginLoc(*m->value), "a metric must be a scalar, but this has type {}",
            node->type.str());
      noteOrigin(node);
      return;
    }
    program_->metrics.push_back({m->name, m->nameLoc, node});
    return;
  }
  if (const auto *l = dyn_cast<ast::LossStmt>(&stmt)) {
    if (program_->loss || program_->lossLoc.isValid()) {
      error(l->loc(), "duplicate 'loss': a script has exactly one");
      note(program_->lossLoc, "the first 'loss' is here");
      return;
    }
    program_->lossLoc = l->loc();
    Value v = eval(*l->value, globals_);
    Node *node = tensorOf(v);
    SourceLoc at = ast::beginLoc(*l->value);
    if (!node) {
      if (!v.isPoison())
        error(at, "the loss must be a scalar tensor, but this is {}", v.describe());
      return;
    }
    if (!node->type.isScalar()) {
      error(at,
            "the loss must be a scalar, but this has type {}; reduce it with mean(...) or "
            "sum(...)",
            node->type.str());
      noteOrigin(node);
      return;
    }
    if (!isFloat(node->type.dtype)) {
      error(at, "the loss must be a floating-point scalar, not {}", node->type.str());
      return;
    }
    program_->loss = node;
    return;
  }
  if (const auto *t = dyn_cast<ast::TrainStmt>(&stmt)) {
    if (trainLoc_.isValid()) {
      error(t->loc(), "duplicate train block: a script has at most one");
      note(trainLoc_, "the first train block is here");
      return;
    }
    trainLoc_ = t->loc();
    checkTrain(*t);
  }
}

void Sema::checkDefBody(const ast::DefStmt &def) {
  Scope body;
  body.def = &def;
  body.checkingOnly = true;
  for (const auto &local : def.locals)
    body.later.emplace(local->name, local->nameLoc);
  for (const ast::DefParam &p : def.params)
    bind(body, p.name, BindingKind::DefParam, Value::poison(p.loc), p.loc);
  for (const auto &local : def.locals)
    bind(body, local->name, BindingKind::Local, eval(*local->value, body), local->nameLoc);
  eval(*def.result, body);
}

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

const Binding *Sema::lookup(Scope &scope, const std::string &name) {
  if (auto it = scope.names.find(name); it != scope.names.end())
    return &it->second;
  if (scope.def) {
    auto it = globals_.names.find(name);
    if (it != globals_.names.end() &&
        (it->second.kind == BindingKind::Const || it->second.kind == BindingKind::Function))
      return &it->second;
  }
  return nullptr;
}

void Sema::reportUnknownName(const std::string &name, SourceLoc loc, Scope &scope, bool isCall) {
  std::vector<std::string_view> candidates;
  for (const auto &[n, b] : scope.names)
    if ((b.kind == BindingKind::Function) == isCall)
      candidates.push_back(n);
  if (scope.def)
    for (const auto &[n, b] : globals_.names)
      if ((isCall && b.kind == BindingKind::Function) || (!isCall && b.kind == BindingKind::Const))
        candidates.push_back(n);
  if (isCall)
    for (std::string_view b : builtinNames())
      candidates.push_back(b);
  std::string suggestion = closestName(name, candidates);
  std::string hint = suggestion.empty() ? "" : "; did you mean '" + suggestion + "'?";
  if (isCall)
    error(loc, "unknown function '{}'{}", name, hint);
  else
    error(loc, "unknown name '{}'{}", name, hint);
}

Value Sema::evalName(const ast::NameExpr &e, Scope &scope) {
  const std::string &name = e.name;
  if (const Binding *b = lookup(scope, name)) {
    if (b->kind == BindingKind::Function) {
      error(e.loc(), "'{}' is a function; call it with its arguments, as in {}(...)", name, name);
      return Value::poison(e.loc());
    }
    Value v = b->value;
    v.loc = e.loc();
    return v;
  }
  if (name == "true" || name == "false") {
    Value v;
    v.kind = Value::Kind::Bool;
    v.boolean = name == "true";
    v.loc = e.loc();
    return v;
  }
  if (symbols_.count(name)) {
    Value v;
    v.kind = Value::Kind::Size;
    v.size = Dim::symbol(name);
    v.loc = e.loc();
    return v;
  }
  if (scope.def) {
    auto global = globals_.names.find(name);
    if (global != globals_.names.end()) {
      error(e.loc(),
            "'{}' is {} defined outside '{}'; a def body sees only its parameters, its local "
            "names, consts and functions: pass '{}' as an argument",
            name, describe(global->second.kind), scope.def->name, name);
      note(global->second.loc, "'{}' is defined here", name);
      return Value::poison(e.loc());
    }
  }
  if (scope.failed.count(name))
    return Value::poison(e.loc()); // its definition had an error, already reported
  auto later = scope.later.find(name);
  if (later != scope.later.end()) {
    error(e.loc(), "'{}' is used before its definition", name);
    note(later->second, "'{}' is defined here", name);
    return Value::poison(e.loc());
  }
  if (scope.def) {
    auto globalLater = globals_.later.find(name);
    if (globalLater != globals_.later.end()) {
      error(e.loc(),
            "'{}' is defined outside '{}' (further down); a def body sees only its parameters, "
            "its local names, consts and functions",
            name, scope.def->name);
      note(globalLater->second, "'{}' is defined here", name);
      return Value::poison(e.loc());
    }
  }
  if (lookupBuiltin(name)) {
    error(e.loc(), "'{}' is a builtin function; call it with its arguments, as in {}(...)", name,
          name);
    return Value::poison(e.loc());
  }
  reportUnknownName(name, e.loc(), scope, /*isCall=*/false);
  return Value::poison(e.loc());
}

std::optional<double> Sema::evalNumber(const ast::Expr &e, Scope &scope, std::string_view what) {
  Value v = eval(e, scope);
  if (v.kind == Value::Kind::Number)
    return v.number;
  if (!v.isPoison())
    error(ast::beginLoc(e), "{} must be a compile-time number, but this is {}", what, v.describe());
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Value Sema::eval(const ast::Expr &e, Scope &scope) {
  struct DepthGuard {
    unsigned &depth;
    explicit DepthGuard(unsigned &d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  } guard(evalDepth_);
  if (evalDepth_ > SemaLimits::kMaxEvalDepth) {
    error(e.loc(), "expressions are nested more than {} deep after expanding def calls",
          SemaLimits::kMaxEvalDepth);
    return Value::poison(e.loc());
  }
  switch (e.kind()) {
  case ast::ExprKind::Number: return Value::makeNumber(cast<ast::NumberExpr>(e).value, e.loc());
  case ast::ExprKind::String: {
    Value v;
    v.kind = Value::Kind::String;
    v.text = cast<ast::StringExpr>(e).value;
    v.loc = e.loc();
    return v;
  }
  case ast::ExprKind::Name: return evalName(cast<ast::NameExpr>(e), scope);
  case ast::ExprKind::Unary: {
    const auto &u = cast<ast::UnaryExpr>(e);
    Value operand = eval(*u.operand, scope);
    if (operand.kind == Value::Kind::Number)
      return Value::makeNumber(-operand.number, e.loc());
    if (operand.isPoison())
      return Value::poison(e.loc());
    if (operand.kind != Value::Kind::Tensor) {
      error(e.loc(), "unary '-' needs a tensor or a number, but its operand is {}",
            operand.describe());
      return Value::poison(e.loc());
    }
    std::vector<BoundArg> args(1);
    args[0].spec = &builtinInfo(Builtin::Neg).signature.params[0];
    args[0].expr = u.operand.get();
    args[0].value = operand;
    args[0].loc = ast::beginLoc(*u.operand);
    return applyBuiltin(Builtin::Neg, args, e.loc());
  }
  case ast::ExprKind::Binary: return evalBinary(cast<ast::BinaryExpr>(e), scope);
  case ast::ExprKind::Call: return evalCall(cast<ast::CallExpr>(e), scope);
  case ast::ExprKind::Index: return evalIndex(cast<ast::IndexExpr>(e), scope);
  case ast::ExprKind::List: {
    Value v;
    v.kind = Value::Kind::List;
    v.loc = e.loc();
    for (const ast::ExprPtr &el : cast<ast::ListExpr>(e).elements)
      v.items.push_back(eval(*el, scope));
    return v;
  }
  case ast::ExprKind::Record: {
    Value v;
    v.kind = Value::Kind::Record;
    v.loc = e.loc();
    for (const ast::RecordField &f : cast<ast::RecordExpr>(e).fields) {
      bool duplicate = false;
      for (size_t i = 0; i < v.fieldNames.size(); ++i)
        if (v.fieldNames[i] == f.name) {
          error(f.nameLoc, "duplicate field '{}' in the record", f.name);
          note(v.fieldLocs[i], "'{}' is first given here", f.name);
          duplicate = true;
        }
      if (duplicate)
        continue;
      v.fieldNames.push_back(f.name);
      v.fieldLocs.push_back(f.nameLoc);
      v.items.push_back(eval(*f.value, scope));
    }
    return v;
  }
  }
  return Value::poison(e.loc());
}

/// Folds an operator applied to two compile-time numbers.
static double foldNumbers(ast::BinaryOp op, double a, double b) {
  switch (op) {
  case ast::BinaryOp::Add: return a + b;
  case ast::BinaryOp::Sub: return a - b;
  case ast::BinaryOp::Mul: return a * b;
  case ast::BinaryOp::Div: return a / b;
  case ast::BinaryOp::Pow: return std::pow(a, b);
  case ast::BinaryOp::Eq: return a == b;
  case ast::BinaryOp::Ne: return a != b;
  case ast::BinaryOp::Lt: return a < b;
  case ast::BinaryOp::Le: return a <= b;
  case ast::BinaryOp::Gt: return a > b;
  case ast::BinaryOp::Ge: return a >= b;
  case ast::BinaryOp::MatMul: break;
  }
  return 0;
}

static Builtin builtinFor(ast::BinaryOp op) {
  switch (op) {
  case ast::BinaryOp::Add: return Builtin::Add;
  case ast::BinaryOp::Sub: return Builtin::Sub;
  case ast::BinaryOp::Mul: return Builtin::Mul;
  case ast::BinaryOp::Div: return Builtin::Div;
  case ast::BinaryOp::MatMul: return Builtin::MatMul;
  case ast::BinaryOp::Pow: return Builtin::Pow;
  case ast::BinaryOp::Eq: return Builtin::Eq;
  case ast::BinaryOp::Ne: return Builtin::Ne;
  case ast::BinaryOp::Lt: return Builtin::Lt;
  case ast::BinaryOp::Le: return Builtin::Le;
  case ast::BinaryOp::Gt: return Builtin::Gt;
  case ast::BinaryOp::Ge: return Builtin::Ge;
  }
  return Builtin::Add;
}

Value Sema::evalBinary(const ast::BinaryExpr &e, Scope &scope) {
  Value lhs = eval(*e.lhs, scope);
  Value rhs = eval(*e.rhs, scope);
  if (lhs.isPoison() || rhs.isPoison())
    return Value::poison(e.loc());
  using K = Value::Kind;
  if (lhs.kind == K::Number && rhs.kind == K::Number && e.op != ast::BinaryOp::MatMul)
    return Value::makeNumber(foldNumbers(e.op, lhs.number, rhs.number), e.loc());

  // Sizes multiply into sizes: reshape(x, [B*T, D]).
  if (lhs.kind == K::Size || rhs.kind == K::Size) {
    auto asSize = [](const Value &v) -> std::optional<Dim> {
      if (v.kind == K::Size)
        return v.size;
      if (v.kind == K::Number && v.number >= 1 && v.number <= double(kMaxDimSize) &&
          v.number == std::floor(v.number))
        return Dim(static_cast<int64_t>(v.number));
      return std::nullopt;
    };
    auto a = asSize(lhs), b = asSize(rhs);
    if (e.op == ast::BinaryOp::Mul && a && b) {
      if (auto product = Dim::product(*a, *b)) {
        Value v;
        v.kind = K::Size;
        v.size = *product;
        v.loc = e.loc();
        return v;
      }
    }
    error(e.loc(), "symbolic sizes can only be multiplied by sizes or positive integers, as in "
                   "reshape(x, [B*T, D]); they are not values");
    return Value::poison(e.loc());
  }
  for (const Value *v : {&lhs, &rhs}) {
    if (v->kind != K::Tensor && v->kind != K::Number) {
      error(v->loc, "'{}' needs tensors or numbers, but its {} operand is {}", ast::spelling(e.op),
            v == &lhs ? "left" : "right", v->describe());
      return Value::poison(e.loc());
    }
  }
  Builtin id = builtinFor(e.op);
  const auto &params = builtinInfo(id).signature.params;
  std::vector<BoundArg> args(2);
  args[0] = BoundArg{&params[0], e.lhs.get(), lhs, ast::beginLoc(*e.lhs)};
  args[1] = BoundArg{&params[1], e.rhs.get(), rhs, ast::beginLoc(*e.rhs)};
  return applyBuiltin(id, args, e.loc());
}

Value Sema::evalCall(const ast::CallExpr &e, Scope &scope) {
  const std::string &name = e.callee;
  if (const Binding *b = lookup(scope, name)) {
    if (b->kind == BindingKind::Function)
      return callDef(*b->value.def, e, scope);
    error(e.loc(), "'{}' is {}, not a function", name, describe(b->kind));
    note(b->loc, "'{}' is defined here", name);
    return Value::poison(e.loc());
  }
  if (scope.def && name == scope.def->name) {
    error(e.loc(),
          "'{}' cannot call itself: a def is expanded where it is called, so recursion "
          "would never end",
          name);
    return Value::poison(e.loc());
  }
  if (const BuiltinInfo *info = lookupBuiltin(name)) {
    if (info->id == Builtin::Scan)
      return evalScan(e, scope);
    if (info->id == Builtin::Grad && scope.def) {
      error(e.loc(),
            "grad cannot be used inside a def: a def is expanded where it is called, so take "
            "the gradient there, of the def's result");
      return Value::poison(e.loc());
    }
    auto args = bindArguments(info->signature, &e, e.loc(), scope);
    if (!args || scope.checkingOnly)
      return Value::poison(e.loc());
    return applyBuiltin(info->id, *args, e.loc());
  }
  if (globals_.failed.count(name))
    return Value::poison(e.loc());
  auto later = globals_.later.find(name);
  if (later != globals_.later.end()) {
    error(e.loc(), "'{}' is used before its definition", name);
    note(later->second, "'{}' is defined here", name);
    return Value::poison(e.loc());
  }
  if (isInitializerName(name)) {
    error(e.loc(),
          "'{}' is an initializer; it is used after '=' in a param declaration, as in "
          "param W: [784, 10] = {}",
          name, name);
    return Value::poison(e.loc());
  }
  if (isOptimizerName(name) || isDataSourceName(name)) {
    error(e.loc(), "'{}' can only be used in the train block", name);
    return Value::poison(e.loc());
  }
  reportUnknownName(name, e.loc(), scope, /*isCall=*/true);
  return Value::poison(e.loc());
}

Value Sema::callDef(const ast::DefStmt &def, const ast::CallExpr &call, Scope &scope) {
  Signature sig{def.name, {}};
  for (const ast::DefParam &p : def.params)
    sig.params.push_back({p.name.c_str(), ArgKind::Tensor});
  auto args = bindArguments(sig, &call, call.loc(), scope);
  if (!args) {
    note(def.nameLoc, "'{}' is defined here", def.name);
    return Value::poison(call.loc());
  }
  if (scope.checkingOnly)
    return Value::poison(call.loc());
  std::vector<Value> values;
  for (const BoundArg &arg : *args)
    values.push_back(arg.value);
  return expandDef(def, values, call.loc());
}

Value Sema::expandDef(const ast::DefStmt &def, const std::vector<Value> &args, SourceLoc at) {
  for (const Value &arg : args)
    if (arg.isPoison())
      return Value::poison(at);
  if (callStack_.size() >= SemaLimits::kMaxCallDepth) {
    error(at, "def calls are nested more than {} deep", SemaLimits::kMaxCallDepth);
    return Value::poison(at);
  }
  if (++expansions_ > SemaLimits::kMaxExpansions) {
    if (expansions_ == SemaLimits::kMaxExpansions + 1)
      error(at, "the program is too large: more than {} def calls after expansion",
            SemaLimits::kMaxExpansions);
    return Value::poison(at);
  }
  Scope body;
  body.def = &def;
  for (const auto &local : def.locals)
    body.later.emplace(local->name, local->nameLoc);
  for (size_t i = 0; i < def.params.size(); ++i)
    body.names.emplace(def.params[i].name,
                       Binding{BindingKind::DefParam, args[i], def.params[i].loc});
  callStack_.emplace_back(def.name, at);
  for (const auto &local : def.locals)
    bind(body, local->name, BindingKind::Local, eval(*local->value, body), local->nameLoc);
  Value result = eval(*def.result, body);
  callStack_.pop_back();
  result.loc = at;
  return result;
}

} // namespace sema

std::unique_ptr<Program> analyze(const ast::Module &module, const SourceManager &sources,
                                 DiagnosticEngine &diags, const SemaOptions &options) {
  return sema::Sema(sources, diags, options).run(module);
}

} // namespace nabla
