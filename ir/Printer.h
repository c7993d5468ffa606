//===- Printer.h - The text form of the IR ----------------------*- C++ -*-===//
//
// Prints modules in the syntax of docs/ir.md, which ir/Parser.h reads back:
// printing a parsed module gives the same text.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/SourceManager.h"
#include "ir/IR.h"

#include <string>

namespace llvm {
class raw_ostream;
}

namespace nabla::ir {

void print(const Module &module, const SourceManager &sources, llvm::raw_ostream &os);
void print(const Function &fn, const SourceManager &sources, llvm::raw_ostream &os);
std::string toString(const Module &module, const SourceManager &sources);

/// The shortest decimal that reads back as `value`; "inf", "-inf", "nan".
std::string formatNumber(double value);

} // namespace nabla::ir
