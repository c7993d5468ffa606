//===- Pipeline.h - The optimization pipeline --------------------*- C++ -*-===//
#pragma once

#include "passes/PassManager.h"

namespace nabla::passes {

/// The passes `nabla` runs on a step before compiling it, in order.
std::vector<Pass> optimizationPipeline();

/// Every pass by name (for --passes and to check --disable-pass names).
const std::vector<Pass> &allPasses();

} // namespace nabla::passes
