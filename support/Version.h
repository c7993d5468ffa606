//===- Version.h - Nabla's version ------------------------------*- C++ -*-===//
#pragma once

namespace nabla {

/// Printed by --version; part of the key of every cached kernel.
inline constexpr const char *kVersion = "0.1.0";

} // namespace nabla
