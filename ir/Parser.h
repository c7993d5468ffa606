//===- Parser.h - Reading the text IR (.nnir) -------------------*- C++ -*-===//
//
// Reads what ir/Printer.h writes. Every op's types are checked as it is read
// and the module is verified at the end; mistakes are reported at their
// position in the .nnir file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "support/Diagnostics.h"

#include <memory>

namespace nabla::ir {

/// Parses buffer `file` of `sources`. File names in `loc(...)` are registered
/// in `sources`. Returns null after reporting errors.
std::unique_ptr<Module> parseIR(SourceManager &sources, uint32_t file, DiagnosticEngine &diags);

} // namespace nabla::ir
