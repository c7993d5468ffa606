//===- Printer.h - The text form of the IR ----------------------*- C++ -*-===//
//
// Prints modules in the syntax of docs/ir.md, which ir/Parser.h reads back:
// printing a parsed module gives the same text.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "support/SourceManager.h"

#include <string>
#include <unordered_map>

namespace llvm {
class raw_ostream;
}

namespace nabla::ir {

void print(const Module &module, const SourceManager &sources, llvm::raw_ostream &os);
void print(const Function &fn, const SourceManager &sources, llvm::raw_ostream &os);
std::string toString(const Module &module, const SourceManager &sources);

/// The name each value of `fn` prints under: its own name made unique with
/// ".N", or the next number for unnamed values, in order of definition.
std::unordered_map<const Value *, std::string> valueNames(const Function &fn);

/// The attributes `op` prints, as the IR text writes them ("{axis = 1}"), or "".
std::string attributesOf(const Op &op);

/// The shortest decimal that reads back as `value`; "inf", "-inf", "nan".
std::string formatNumber(double value);

} // namespace nabla::ir
