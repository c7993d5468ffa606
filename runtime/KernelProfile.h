//===- KernelProfile.h - Time spent in each kernel of a step ----*- C++ -*-===//
//
// A step compiled for profiling (CompileOptions::profile) calls
// nabla_profile_kernel(u) before kernel u and nabla_profile_kernel(-1)
// after the last: each call closes the interval of the kernel before it.
// `nabla bench --profile` reads the totals. Steps run on one thread, so the
// counters take no lock.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nabla {

/// Clears the totals and sizes them for `kernels` kernels.
void resetKernelProfile(std::size_t kernels);
/// Seconds spent in each kernel since the last reset.
std::vector<double> kernelProfileSeconds();

} // namespace nabla

/// Kernel `kernel` starts (-1: the step's kernels are done).
extern "C" void nabla_profile_kernel(int64_t kernel);
