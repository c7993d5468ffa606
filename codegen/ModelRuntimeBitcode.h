//===- ModelRuntimeBitcode.h - runtime/aot/ModelRuntime.c as bitcode -*- C++ -*-===//
//
// The C runtime of ahead-of-time compiled models, compiled to LLVM bitcode
// by clang when Nabla is built (codegen/CMakeLists.txt) and embedded in the
// tool, which links it into every object `nabla compile` writes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>

namespace nabla::codegen {

extern const unsigned char kModelRuntimeBitcode[];
extern const size_t kModelRuntimeBitcodeSize;

} // namespace nabla::codegen
