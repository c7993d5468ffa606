//===- Parallel.h - Kernels that split their work over the thread pool -*- C++ -*-===//
#pragma once

#include "codegen/KernelBuilder.h"

namespace nabla::codegen {

/// The body of one task: `t` builds into the task function, `pointers` are
/// the kernel's pointers as the task function sees them, `task` the index.
using TaskEmitterFn = std::function<void(
    KernelBuilder &t, const std::vector<llvm::Value *> &pointers, llvm::Value *task)>;

/// Runs tasks 0 .. count-1 on the thread pool (runtime/ThreadPool.h): emits
/// a function `<kernel>_<suffix>_range` that takes `pointers` (as noalias
/// parameters: a kernel's buffers never overlap where it writes) and loops
/// over a range of tasks; the task function `<kernel>_<suffix>`,
/// void(ptr context, i64 begin, i64 end), that calls it with the pointers
/// from the context; and a call from `k` to nabla_parallel_for. Without
/// `onPool` (work too small to share), `k` calls the range function itself,
/// for all the tasks.
void emitParallelFor(KernelBuilder &k, const char *suffix,
                     const std::vector<llvm::Value *> &pointers, int64_t count,
                     const TaskEmitterFn &body, bool onPool = true);

/// An internal function of `kernel`'s module, compiled for the kernel's
/// target (its CPU, features and vector width).
llvm::Function *helperFunction(llvm::Function *kernel, llvm::FunctionType *type,
                               const llvm::Twine &name);

/// Emits at `b` (in `kernel`) a call to nabla_parallel_for running `task`,
/// a void(ptr context, i64 begin, i64 end), over tasks 0 .. count-1, its
/// context an array of `pointers` on `kernel`'s stack.
void emitPoolCall(llvm::IRBuilder<> &b, llvm::Function *kernel, llvm::Function *task,
                  const std::vector<llvm::Value *> &pointers, int64_t count);

/// Task `task`'s share [begin, end) of `total` items dealt in order to
/// `tasks` tasks (shares differ by at most one item).
std::pair<llvm::Value *, llvm::Value *> taskShare(KernelBuilder &t, llvm::Value *task,
                                                  int64_t total, int64_t tasks);

} // namespace nabla::codegen
