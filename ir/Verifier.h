//===- Verifier.h - IR invariants -------------------------------*- C++ -*-===//
//
// Checks types, shapes, SSA order, arity and attributes of every op. Runs
// after lowering, after parsing a .nnir file, and (in tests) after every
// transformation; a failure names the stage it ran after.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/Shapes.h"
#include "support/Diagnostics.h"

#include <string>
#include <string_view>

namespace nabla::ir {

/// Checks one op's arity, attributes and result type against its operands.
/// Returns "" when they fit, else what is wrong.
std::string checkOp(const Op &op);

/// Checks every invariant of `fn`. Each violation is reported at the op's
/// source position, with `stage` ("lowering", "adjoint", ...) in the message.
bool verify(const Function &fn, DiagnosticEngine &diags, std::string_view stage);
bool verify(const Module &module, DiagnosticEngine &diags, std::string_view stage);

/// Whether every slice and pad of `fn` (and of its loops' bodies) fits its
/// axis once `bindings` give the sizes: an index on a symbolic axis (x[-1]
/// of T elements) can only be checked then. Reports each one that does not
/// at its op.
bool verifyBoundSizes(const Function &fn, const SymbolBindings &bindings, DiagnosticEngine &diags);

} // namespace nabla::ir
