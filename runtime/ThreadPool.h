//===- ThreadPool.h - Parallel loops for compiled code -----------*- C++ -*-===//
//
// Compiled kernels split their outer loops into tasks and call one C entry
// point, nabla_parallel_for, which runs the tasks on a fixed pool of threads
// (the calling thread is one of them) and returns when all are done. Tasks
// are dealt out statically, thread t taking the t-th contiguous share, and
// each task writes its own outputs: results do not depend on the thread
// count. Between parallel loops the workers spin briefly (steps run kernels
// back to back) and then sleep.
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
