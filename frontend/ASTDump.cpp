//===- ASTDump.cpp - `nabla dump --emit=ast` ------------------------------===//
//
// One node per line, indented two spaces per level, each with `<line:col>`:
//
//   Assign h1 <15:1>
//     Call relu <15:10>
//       Call dense <15:15>
//         Name x <15:21>
//
//===----------------------------------------------------------------------===//
#include "frontend/AST.h"
#include "frontend/Token.h"

#include <fmt/format.h>
#include <llvm/Support/Casting.h>
#include <llvm/Support/raw_ostream.h>

namespace nabla::ast {

using llvm::cast;
using llvm::dyn_cast;

const char *spelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::MatMul: return "@";
  case BinaryOp::Pow: return "**";
  case BinaryOp::Eq: return "==";
  case BinaryOp::Ne: return "!=";
  case BinaryOp::Lt: return "<";
  case BinaryOp::Le: return "<=";
  case BinaryOp::Gt: return ">";
  case BinaryOp::Ge: return ">=";
  }
  return "?";
}

bool isComparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
         op == BinaryOp::Gt || op == BinaryOp::Ge;
}

SourceLoc beginLoc(const Expr &e) {
  const Expr *x = &e;
  while (true) {
    if (const auto *b = dyn_cast<BinaryExpr>(x))
      x = b->lhs.get();
    else if (const auto *i = dyn_cast<IndexExpr>(x))
      x = i->base.get();
    else
      break;
  }
  return x->loc();
}

std::string toSource(const Expr &e) {
  switch (e.kind()) {
  case ExprKind::Number: return cast<NumberExpr>(e).spelling;
  case ExprKind::String: return quoteString(cast<StringExpr>(e).value);
  case ExprKind::Name: return cast<NameExpr>(e).name;
  case ExprKind::Unary: {
    const Expr &operand = *cast<UnaryExpr>(e).operand;
    return operand.kind() == ExprKind::Binary ? "-(" + toSource(operand) + ")"
                                              : "-" + toSource(operand);
  }
  case ExprKind::Binary: {
    const auto &b = cast<BinaryExpr>(e);
    auto side = [](const Expr &x) {
      return x.kind() == ExprKind::Binary ? "(" + toSource(x) + ")" : toSource(x);
    };
    return side(*b.lhs) + " " + spelling(b.op) + " " + side(*b.rhs);
  }
  case ExprKind::Call: {
    const auto &c = cast<CallExpr>(e);
    std::string out = c.callee + "(";
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i)
        out += ", ";
      if (!c.args[i].name.empty())
        out += c.args[i].name + "=";
      out += toSource(*c.args[i].value);
    }
    return out + ")";
  }
  case ExprKind::List: {
    std::string out = "[";
    const auto &l = cast<ListExpr>(e);
    for (size_t i = 0; i < l.elements.size(); ++i)
      out += (i ? ", " : "") + toSource(*l.elements[i]);
    return out + "]";
  }
  case ExprKind::Index: {
    const auto &ix = cast<IndexExpr>(e);
    std::string out = (ix.base->kind() == ExprKind::Binary || ix.base->kind() == ExprKind::Unary
                           ? "(" + toSource(*ix.base) + ")"
                           : toSource(*ix.base)) +
                      "[";
    for (size_t i = 0; i < ix.items.size(); ++i) {
      const IndexItem &item = ix.items[i];
      out += i ? ", " : "";
      switch (item.kind) {
      case IndexItem::Kind::Integer: out += toSource(*item.integer); break;
      case IndexItem::Kind::Slice:
        out += (item.lo ? toSource(*item.lo) : "") + ":" + (item.hi ? toSource(*item.hi) : "");
        break;
      case IndexItem::Kind::Ellipsis: out += "..."; break;
      }
    }
    return out + "]";
  }
  case ExprKind::Record: {
    std::string out = "{";
    const auto &r = cast<RecordExpr>(e);
    for (size_t i = 0; i < r.fields.size(); ++i)
      out += (i ? ", " : "") + r.fields[i].name + ": " + toSource(*r.fields[i].value);
    return out + "}";
  }
  }
  return "?";
}

namespace {

class Dumper {
public:
  explicit Dumper(llvm::raw_ostream &os) : os_(os) {}

  void line(int indent, std::string_view text, SourceLoc loc) {
    os_.indent(indent * 2) << text << " <" << loc.line << ":" << loc.col << ">\n";
  }

  void expr(const Expr &e, int indent) {
    switch (e.kind()) {
    case ExprKind::Number: line(indent, "Number " + cast<NumberExpr>(e).spelling, e.loc()); return;
    case ExprKind::String:
      line(indent, "String " + quoteString(cast<StringExpr>(e).value), e.loc());
      return;
    case ExprKind::Name: line(indent, "Name " + cast<NameExpr>(e).name, e.loc()); return;
    case ExprKind::Unary:
      line(indent, "Unary -", e.loc());
      expr(*cast<UnaryExpr>(e).operand, indent + 1);
      return;
    case ExprKind::Binary: {
      const auto &b = cast<BinaryExpr>(e);
      line(indent, std::string("Binary ") + spelling(b.op), e.loc());
      expr(*b.lhs, indent + 1);
      expr(*b.rhs, indent + 1);
      return;
    }
    case ExprKind::Call: {
      const auto &c = cast<CallExpr>(e);
      line(indent, "Call " + c.callee, e.loc());
      for (const Argument &a : c.args) {
        if (a.name.empty()) {
          expr(*a.value, indent + 1);
        } else {
          line(indent + 1, "Keyword " + a.name, a.nameLoc);
          expr(*a.value, indent + 2);
        }
      }
      return;
    }
    case ExprKind::List:
      line(indent, "List", e.loc());
      for (const ExprPtr &el : cast<ListExpr>(e).elements)
        expr(*el, indent + 1);
      return;
    case ExprKind::Index: {
      const auto &ix = cast<IndexExpr>(e);
      line(indent, "Index", e.loc());
      expr(*ix.base, indent + 1);
      for (const IndexItem &item : ix.items) {
        switch (item.kind) {
        case IndexItem::Kind::Integer: expr(*item.integer, indent + 1); break;
        case IndexItem::Kind::Slice:
          line(indent + 1, "Slice", item.loc);
          if (item.lo)
            expr(*item.lo, indent + 2);
          else
            line(indent + 2, "From the start", item.loc);
          if (item.hi)
            expr(*item.hi, indent + 2);
          else
            line(indent + 2, "To the end", item.loc);
          break;
        case IndexItem::Kind::Ellipsis: line(indent + 1, "Ellipsis", item.loc); break;
        }
      }
      return;
    }
    case ExprKind::Record:
      line(indent, "Record", e.loc());
      for (const RecordField &f : cast<RecordExpr>(e).fields) {
        line(indent + 1, "Field " + f.name, f.nameLoc);
        expr(*f.value, indent + 2);
      }
      return;
    }
  }

  void type(const TypeExpr &t, int indent) {
    std::string text = "Type " + t.dtype;
    if (t.hasDims) {
      text += "[";
      for (size_t i = 0; i < t.dims.size(); ++i)
        text += (i ? ", " : "") + toSource(*t.dims[i]);
      text += "]";
    }
    line(indent, text, t.loc);
  }

  void stmt(const Stmt &s, int indent) {
    if (const auto *in = dyn_cast<InputStmt>(&s)) {
      line(indent, "Input " + in->name, in->nameLoc);
      type(in->type, indent + 1);
    } else if (const auto *p = dyn_cast<ParamStmt>(&s)) {
      line(indent, "Param " + p->name, p->nameLoc);
      type(p->type, indent + 1);
      if (p->init) {
        line(indent + 1, "Init", p->init->loc());
        expr(*p->init, indent + 2);
      }
    } else if (const auto *c = dyn_cast<ConstStmt>(&s)) {
      line(indent, "Const " + c->name, c->nameLoc);
      expr(*c->value, indent + 1);
    } else if (const auto *a = dyn_cast<AssignStmt>(&s)) {
      line(indent, "Assign " + a->name, a->nameLoc);
      expr(*a->value, indent + 1);
    } else if (const auto *d = dyn_cast<DefStmt>(&s)) {
      line(indent, std::string(d->isBlock ? "DefBlock " : "Def ") + d->name, d->nameLoc);
      for (const DefParam &p : d->params)
        line(indent + 1, "Parameter " + p.name, p.loc);
      for (const auto &local : d->locals)
        stmt(*local, indent + 1);
      line(indent + 1, "Return", d->resultLoc);
      expr(*d->result, indent + 2);
    } else if (const auto *o = dyn_cast<OutputStmt>(&s)) {
      line(indent, "Output " + o->name, o->nameLoc);
      if (o->value)
        expr(*o->value, indent + 1);
    } else if (const auto *m = dyn_cast<MetricStmt>(&s)) {
      line(indent, "Metric " + m->name, m->nameLoc);
      expr(*m->value, indent + 1);
    } else if (const auto *l = dyn_cast<LossStmt>(&s)) {
      line(indent, "Loss", l->loc());
      expr(*l->value, indent + 1);
    } else if (const auto *t = dyn_cast<TrainStmt>(&s)) {
      line(indent, "Train", t->loc());
      for (const TrainEntry &e : t->entries) {
        line(indent + 1, "Setting " + e.key, e.keyLoc);
        expr(*e.value, indent + 2);
      }
    }
  }

private:
  llvm::raw_ostream &os_;
};

} // namespace

void dump(const Module &module, const std::string &fileName, llvm::raw_ostream &os) {
  os << "Module " << fileName << "\n";
  Dumper dumper(os);
  for (const StmtPtr &s : module.statements)
    dumper.stmt(*s, 1);
}

} // namespace nabla::ast
