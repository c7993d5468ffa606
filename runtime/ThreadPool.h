//===- ThreadPool.h - Parallel loops for compiled code -----------*- C++ -*-===//
//
// Compiled kernels split their outer loops into tasks and call one C entry
// point, nabla_parallel_for, which runs the tasks on a fixed pool of threads
// (the calling thread is one of them) and returns when all are done. Each
// thread takes a chunk of tasks (its share) from a shared counter as it
// becomes free, the caller the first share; a thread the OS delays before
// it claims its share leaves it to the others. Each task writes its own
// outputs, so results do not depend on which thread ran it, nor on the
// thread count. When the caller still waits long for another
// thread's chunk, the OS has taken that thread's core: the caller then runs
// loops alone for a spell (longer while stalls go on, up to 1.28 s)
// before trying its workers again. Between loops the workers spin briefly
// (steps run kernels back to back) and then sleep; waiting callers yield.
// Workers run compiled code's floating-point mode (runtime/FloatMode.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace nabla {

/// A task body: runs tasks [begin, end) with `context`.
using TaskBody = void (*)(void *context, int64_t begin, int64_t end);

/// The number of threads parallel loops use (default: the cores the process
/// may run on; 0 restores it). Call it between steps, never during one.
void setParallelThreads(int threads);
int parallelThreads();

} // namespace nabla

/// Runs body(context, begin, end) over [0, count) on the pool.
extern "C" void nabla_parallel_for(nabla::TaskBody body, void *context, int64_t count);
