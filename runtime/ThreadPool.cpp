#include "runtime/ThreadPool.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <sched.h>
#include <thread>
#include <vector>

namespace nabla {

namespace {

/// Workers wait for a new generation of work, run their share, and count
/// themselves done. Nothing inside a parallel loop locks or allocates.
class Pool {
public:
  explicit Pool(int threads) : threads_(threads) {
    for (int t = 1; t < threads; ++t)
      workers_.emplace_back([this, t] { work(t); });
  }
  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (std::thread &w : workers_)
      w.join();
  }

  int threads() const { return threads_; }

  /// One caller at a time (steps run their kernels in order, on one thread).
  void run(TaskBody body, void *context, int64_t count) {
    body_ = body;
    context_ = context;
    count_ = count;
    done_.store(0);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    share(0);
    // Wait for the workers; they finish about when the caller does.
    while (done_.load(std::memory_order_acquire) != threads_ - 1)
      pause();
  }

private:
  static void pause() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }

  /// Thread t's contiguous share of the tasks.
  void share(int t) {
    int64_t begin = count_ * t / threads_, end = count_ * (t + 1) / threads_;
    if (begin < end)
      body_(context_, begin, end);
  }

  void work(int t) {
    // Generation 0 is the pool's start: a loop started before this thread
    // ran is generation 1 and is not missed.
    uint64_t seen = 0;
    for (;;) {
      // Spin a while: the next parallel loop usually follows within microseconds.
      uint64_t now = seen;
      for (int spin = 0; spin < 20000 && now == seen; ++spin) {
        pause();
        now = generation_.load(std::memory_order_acquire);
      }
      if (now == seen) {
        generation_.wait(seen);
        now = generation_.load(std::memory_order_acquire);
      }
      seen = now;
      if (stop_.load())
        return;
      share(t);
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  TaskBody body_ = nullptr;
  void *context_ = nullptr;
  int64_t count_ = 0;
};

int defaultThreads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

/// The pool compiled code uses: created on first use, replaced when the
/// thread count changes (between steps). Reading it takes no lock.
std::mutex configMutex;
std::unique_ptr<Pool> owned;
std::atomic<Pool *> current{nullptr};
int requested = 0; ///< 0: the default

Pool &thePool() {
  if (Pool *p = current.load(std::memory_order_acquire))
    return *p;
  std::lock_guard<std::mutex> lock(configMutex);
  if (!owned)
    owned = std::make_unique<Pool>(requested ? requested : defaultThreads());
  current.store(owned.get(), std::memory_order_release);
  return *owned;
}

} // namespace

void setParallelThreads(int threads) {
  std::lock_guard<std::mutex> lock(configMutex);
  requested = threads;
  int want = threads ? threads : defaultThreads();
  if (owned && owned->threads() == want)
    return;
  current.store(nullptr, std::memory_order_release);
  owned = std::make_unique<Pool>(want);
  current.store(owned.get(), std::memory_order_release);
}

int parallelThreads() { return thePool().threads(); }

} // namespace nabla

extern "C" void nabla_parallel_for(nabla::TaskBody body, void *context, int64_t count) {
  if (count <= 0)
    return;
  nabla::Pool &p = nabla::thePool();
  if (p.threads() == 1 || count == 1) {
    body(context, 0, count);
    return;
  }
  p.run(body, context, count);
}
