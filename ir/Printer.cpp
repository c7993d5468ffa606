#include "ir/Printer.h"
#include "support/Text.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <charconv>
#include <cmath>
#include <set>
#include <unordered_map>

namespace nabla::ir {

std::string formatNumber(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, end);
}

namespace {

std::string intList(const std::vector<int64_t> &v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

std::string pairList(const int64_t (&v)[2]) { return fmt::format("[{}, {}]", v[0], v[1]); }

void printTrain(const TrainConfig &t, llvm::raw_ostream &os) {
  if (t.batch)
    os << "train batch = " << *t.batch << "\n";
  if (t.epochs)
    os << "train epochs = " << *t.epochs << "\n";
  os << "train seed = " << t.seed << "\n";
  os << "train shuffle = " << (t.shuffle ? "true" : "false") << "\n";
  if (t.optimizer)
    os << "train optimizer = " << optimizerText(*t.optimizer) << "\n";
  for (const auto &[input, source] : t.data)
    os << "train data " << input << " = " << dataSourceText(source) << "\n";
  for (const auto &[input, source] : t.test)
    os << "train test " << input << " = " << dataSourceText(source) << "\n";
}

/// The attributes an op prints, in a fixed order, or "".
std::string attrText(const Op &op) {
  unsigned mask = op.info().attrs;
  const Attrs &a = op.attrs;
  std::vector<std::string> parts;
  if (mask & kAttrValue)
    parts.push_back("value = " + formatNumber(a.value));
  if (mask & kAttrDim)
    parts.push_back("dim = " + a.dim.str());
  if (mask & kAttrAxes)
    parts.push_back("axes = " + intList(a.axes));
  if (mask & kAttrKeepdims)
    parts.push_back(std::string("keepdims = ") + (a.keepdims ? "true" : "false"));
  if (mask & kAttrAxis)
    parts.push_back("axis = " + std::to_string(a.axis));
  if (mask & kAttrStart)
    parts.push_back("start = " + a.start.str());
  if ((mask & kAttrFromEnd) && a.fromEnd)
    parts.push_back("from_end = true");
  if (mask & kAttrAlpha)
    parts.push_back("alpha = " + formatNumber(a.alpha));
  if (mask & kAttrClasses)
    parts.push_back("classes = " + std::to_string(a.classes));
  if (mask & kAttrPerm)
    parts.push_back("perm = " + intList(a.perm));
  if (mask & kAttrTranspose) {
    parts.push_back(std::string("transpose_a = ") + (a.transposeA ? "true" : "false"));
    parts.push_back(std::string("transpose_b = ") + (a.transposeB ? "true" : "false"));
  }
  if (mask & kAttrWindow)
    parts.push_back("window = " + pairList(a.window));
  if (mask & kAttrStride)
    parts.push_back("stride = " + pairList(a.stride));
  if (mask & kAttrPadding)
    parts.push_back("padding = " + pairList(a.padding));
  if (mask & kAttrReverse)
    parts.push_back(std::string("reverse = ") + (a.reverse ? "true" : "false"));
  if (mask & kAttrPart)
    parts.push_back("part = " + std::to_string(a.part));
  if (mask & kAttrGrads) {
    parts.push_back("grads = " + intList(a.grads));
    parts.push_back("residuals = " + std::to_string(a.residuals));
  }
  if (parts.empty())
    return "";
  std::string out = " {";
  for (size_t i = 0; i < parts.size(); ++i)
    out += (i ? ", " : "") + parts[i];
  return out + "}";
}

} // namespace

std::unordered_map<const Value *, std::string> valueNames(const Function &fn) {
  std::unordered_map<const Value *, std::string> names;
  std::set<std::string> used;
  unsigned next = 0;
  auto name = [&](const Value *v) {
    std::string n;
    if (v->name.empty()) {
      n = std::to_string(next++);
    } else {
      n = v->name;
      for (int k = 1; used.count(n); ++k)
        n = v->name + "." + std::to_string(k);
    }
    used.insert(n);
    names[v] = n;
  };
  for (const auto &arg : fn.args)
    name(&arg->value);
  for (const auto &op : fn.ops)
    name(&op->result);
  return names;
}

namespace {

std::string locText(SourceLoc loc, const SourceManager &sources) {
  if (!loc.isValid())
    return "";
  return fmt::format(" loc({}:{}:{})", quoteString(sources.name(loc.file)), loc.line, loc.col);
}

/// The arguments, ops and results of `fn`, each line starting with `indent`;
/// a loop's body follows its op, nested one level deeper.
void printContents(const Function &fn, const SourceManager &sources, llvm::raw_ostream &os,
                   const std::string &indent) {
  std::unordered_map<const Value *, std::string> names = valueNames(fn);
  for (const auto &arg : fn.args) {
    os << indent << roleName(arg->role) << " %" << names.at(&arg->value) << " : "
       << arg->value.type.str();
    if (arg->role == ArgRole::Param)
      os << " = " << initializerText(arg->init);
    os << locText(arg->loc, sources) << "\n";
  }
  for (size_t i = 0; i < fn.ops.size(); ++i) {
    const Op &op = *fn.ops[i];
    // A fusion group is a block of consecutive ops.
    bool opens = op.group >= 0 && (i == 0 || fn.ops[i - 1]->group != op.group);
    bool closes = op.group >= 0 && (i + 1 == fn.ops.size() || fn.ops[i + 1]->group != op.group);
    if (opens)
      os << indent << "fused {\n";
    std::string lineIndent = op.group >= 0 ? indent + "  " : indent;
    os << lineIndent << "%" << names.at(&op.result) << " = " << op.info().name;
    for (size_t j = 0; j < op.operands.size(); ++j)
      os << (j ? ", %" : " %") << names.at(op.operands[j]);
    os << attrText(op) << " : " << op.result.type.str() << locText(op.loc, sources);
    if (op.attrs.body) {
      os << " body {\n";
      printContents(*op.attrs.body, sources, os, lineIndent + "  ");
      os << lineIndent << "}";
    }
    os << "\n";
    if (closes)
      os << indent << "}\n";
  }
  for (const Result &r : fn.results) {
    os << indent << roleName(r.role);
    if (r.role != ResultRole::Loss)
      os << " " << r.name;
    os << " = %" << names.at(r.value) << "\n";
  }
}

} // namespace

void print(const Function &fn, const SourceManager &sources, llvm::raw_ostream &os) {
  os << "func @" << fn.name << " {\n";
  printContents(fn, sources, os, "  ");
  os << "}\n";
}

void print(const Module &module, const SourceManager &sources, llvm::raw_ostream &os) {
  if (module.train)
    printTrain(*module.train, os);
  for (size_t i = 0; i < module.functions.size(); ++i) {
    if (i || module.train)
      os << "\n";
    print(*module.functions[i], sources, os);
  }
}

std::string toString(const Module &module, const SourceManager &sources) {
  std::string out;
  llvm::raw_string_ostream os(out);
  print(module, sources, os);
  return out;
}

std::string attributesOf(const Op &op) { return attrText(op); }

} // namespace nabla::ir
