//===- ThreadPoolTest.cpp - The pool that runs compiled parallel loops ----===//
//
// Every task runs exactly once, whatever the thread count, and also when a
// thread stalls in the middle of a loop (as when another process takes its
// core): the pool then runs loops on the caller alone for a while and goes
// back to its workers after, and no task may be lost or run twice across
// those changes. (Same results to the bit for any thread count: GemmTest.)
//
//===----------------------------------------------------------------------===//
#include "runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace nabla {
namespace {

/// Counts the runs of each task.
void countRuns(void *context, int64_t begin, int64_t end) {
  auto &hits = *static_cast<std::vector<int> *>(context);
  for (int64_t i = begin; i < end; ++i)
    ++hits[size_t(i)];
}

TEST(ThreadPool, RunsEveryTaskOnce) {
  for (int threads : {1, 2, 5}) {
    setParallelThreads(threads);
    std::vector<int> hits(1000, 0);
    nabla_parallel_for(countRuns, &hits, 1000);
    for (int h : hits)
      ASSERT_EQ(h, 1) << threads << " threads";
    EXPECT_EQ(parallelThreads(), threads);
  }
  setParallelThreads(0);
}

/// A loop whose tasks, when a worker runs them, take milliseconds: the
/// caller finishes its own and waits, as for a thread the OS stopped.
struct StallingLoop {
  std::thread::id caller;
  std::vector<int> hits;
  std::atomic<int> workerTasks{0}; ///< tasks that ran on a worker
};

void stallOnWorkers(void *context, int64_t begin, int64_t end) {
  auto &loop = *static_cast<StallingLoop *>(context);
  if (std::this_thread::get_id() != loop.caller) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    loop.workerTasks += int(end - begin);
  }
  countRuns(&loop.hits, begin, end);
}

TEST(ThreadPool, RunsEveryTaskOnceWhenAThreadStalls) {
  for (int threads : {2, 3}) {
    setParallelThreads(threads);
    int onWorkers = 0;
    // Enough loops for stalls, spells of the caller alone, and the workers
    // taking tasks again after a spell (the first spell lasts 20 ms).
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
    int loops = 0;
    while (std::chrono::steady_clock::now() < until || loops < 20) {
      StallingLoop loop{std::this_thread::get_id(), std::vector<int>(64, 0)};
      nabla_parallel_for(stallOnWorkers, &loop, 64);
      for (int h : loop.hits)
        ASSERT_EQ(h, 1) << threads << " threads, loop " << loops;
      onWorkers += loop.workerTasks;
      ++loops;
    }
    // The workers took part at first (they stalled), whatever came after.
    EXPECT_GT(onWorkers, 0) << threads << " threads";
  }
  setParallelThreads(0);
}

} // namespace
} // namespace nabla
