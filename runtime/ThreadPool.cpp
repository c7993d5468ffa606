#include "runtime/ThreadPool.h"
#include "runtime/FloatMode.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <linux/futex.h>
#include <memory>
#include <mutex>
#include <sched.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace nabla {

namespace {

using Clock = std::chrono::steady_clock;

/// Pauses spent waiting before yielding the core (the caller, for the last
/// tasks of a loop) or sleeping (a worker, for the next loop). Steps run
/// their kernels back to back, microseconds apart: spinning that long
/// catches the next loop without a system call, and no longer.
constexpr int kCallerSpins = 2000;
constexpr int kWorkerSpins = 4000;
/// Waiting for another thread's tasks this long, and four times as long as
/// the caller's longest chunk took, is a stall: the OS took that thread's
/// core. Two stalls within kConfirm mean another process wants it (one
/// alone may be a virtual machine's brief hiccup): the pool then runs
/// loops on the calling thread alone for a spell of 20 ms, twice as long
/// when the next stall comes soon after a spell (up to 1.28 s), and tries
/// its workers again after each.
constexpr auto kStall = std::chrono::milliseconds(1);
constexpr int kStallOverChunk = 4;
constexpr auto kConfirm = std::chrono::milliseconds(50);
constexpr auto kFirstSolo = std::chrono::milliseconds(20);
constexpr auto kLongestSolo = std::chrono::milliseconds(1280);
constexpr auto kStreak = std::chrono::milliseconds(100);

void pause() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

/// Sleeps while `word` holds `expected` (the kernel checks and sleeps as one
/// step, so a change made before it cannot be missed). A futex directly:
/// one system call each way, no waiter table in between as in
/// std::atomic::wait.
void futexWait(std::atomic<uint32_t> &word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

/// Wakes every thread sleeping on `word`.
void futexWakeAll(std::atomic<uint32_t> &word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

/// A fixed set of worker threads. One caller runs a loop at a time (steps
/// run their kernels in order, on one thread); the caller and the workers
/// take tasks in chunks from a shared counter until none are left, so a
/// thread the OS delays before it claims a chunk leaves it to the others
/// (one delayed while it runs a chunk holds the loop up: the stall
/// detection below handles that). A chunk is a thread's share of the loop: the caller, first to
/// claim, takes the first share of every loop, so the rows (or blocks) a kernel wrote on one thread
/// are the ones the next kernel reads there, from that core's caches (finer chunks, dealt as
/// threads came free, sent about half of every kernel's data from one core to the other: the
/// benchmark MLP's step ran 4% slower). Nothing inside a loop locks or allocates.
class Pool {
public:
  explicit Pool(int threads) : threads_(threads) {
    for (int t = 1; t < threads; ++t)
      workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    stop_.store(true);
    wake_.fetch_add(1);
    futexWakeAll(wake_);
    for (std::thread &w : workers_)
      w.join();
  }

  int threads() const { return threads_; }

  void run(TaskBody body, void *context, int64_t count) {
    Clock::time_point now = Clock::now();
    if (now < soloUntil_) {
      body(context, 0, count);
      return;
    }
    // Publish the loop: its description in this generation's slot, then
    // the ticket (generation, next task) that workers claim tasks from.
    uint64_t generation = ++generation_;
    Slot &slot = slots_[generation & 1];
    slot.body.store(body, std::memory_order_relaxed);
    slot.context.store(context, std::memory_order_relaxed);
    slot.count.store(count, std::memory_order_relaxed);
    slot.chunk.store(std::max<int64_t>(1, (count + threads_ - 1) / int64_t(threads_)),
                     std::memory_order_relaxed);
    slot.unfinished.store(count, std::memory_order_relaxed);
    ticket_.store(generation << 32, std::memory_order_release);
    // A worker counts itself a sleeper before it checks `wake_` and sleeps;
    // both sides use sequentially consistent order, so either the worker
    // sees the new value or this sees the sleeper.
    wake_.fetch_add(1);
    if (sleepers_.load() > 0)
      futexWakeAll(wake_);
    Clock::duration longest = claim(generation, true);
    // Wait for the tasks other threads took: spin briefly, then yield.
    Clock::time_point start = Clock::now();
    for (int spin = 0; slot.unfinished.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin < kCallerSpins)
        pause();
      else
        sched_yield();
    }
    Clock::time_point end = Clock::now();
    Clock::duration waited = end - start;
    if (waited > kStall && waited > kStallOverChunk * longest) {
      // One stall may be the hypervisor's hiccup; a second soon after, or
      // one soon after a solo spell, means another process wants the core.
      bool streak = solo_ != Clock::duration::zero() && end - soloUntil_ < kStreak;
      bool confirmed = end - lastStall_ < kConfirm;
      lastStall_ = end;
      if (streak || confirmed) {
        solo_ = streak ? std::min<Clock::duration>(2 * solo_, kLongestSolo)
                       : Clock::duration(kFirstSolo);
        soloUntil_ = end + solo_;
      }
    }
  }

private:
  /// One loop's description. Two slots, by the generation's parity: a
  /// worker reads a slot only for a generation whose tasks it has claimed,
  /// which cannot end (nor the slot be reused) before it finishes them.
  struct Slot {
    std::atomic<TaskBody> body{nullptr};
    std::atomic<void *> context{nullptr};
    std::atomic<int64_t> count{0}, chunk{1};
    std::atomic<int64_t> unfinished{0};
  };

  /// Takes chunks of loop `generation`'s tasks and runs them until none is
  /// left (or a newer loop has started). With `timed`, returns how long the
  /// longest chunk took.
  Clock::duration claim(uint64_t generation, bool timed = false) {
    Slot &slot = slots_[generation & 1];
    Clock::duration longest = Clock::duration::zero();
    for (;;) {
      uint64_t ticket = ticket_.load(std::memory_order_acquire);
      if (ticket >> 32 != (generation & 0xffffffffu))
        return longest;
      int64_t begin = int64_t(ticket & 0xffffffffu);
      // Stale values of a slot being rewritten only make the exchange
      // below fail: the ticket has moved to a newer generation by then.
      int64_t count = slot.count.load(std::memory_order_relaxed);
      if (begin >= count)
        return longest;
      int64_t end = std::min(count, begin + slot.chunk.load(std::memory_order_relaxed));
      if (!ticket_.compare_exchange_weak(ticket, (ticket & ~uint64_t(0xffffffffu)) | uint64_t(end),
                                         std::memory_order_acq_rel))
        continue;
      Clock::time_point start = timed ? Clock::now() : Clock::time_point();
      slot.body.load(std::memory_order_relaxed)(slot.context.load(std::memory_order_relaxed), begin,
                                                end);
      if (timed)
        longest = std::max(longest, Clock::now() - start);
      slot.unfinished.fetch_sub(end - begin, std::memory_order_acq_rel);
    }
  }

  void work() {
    bool flushing = flushSubnormals();
    enterCompiledCodeFloatMode();
    // Zero, the value before any loop: a worker that starts late must still
    // see the loops (and the shutdown) published before it ran.
    uint32_t seen = 0;
    for (;;) {
      uint32_t now = seen;
      for (int spin = 0; spin < kWorkerSpins && now == seen; ++spin) {
        pause();
        now = wake_.load(std::memory_order_acquire);
      }
      if (now == seen) {
        sleepers_.fetch_add(1);
        while (wake_.load() == seen)
          futexWait(wake_, seen);
        sleepers_.fetch_sub(1);
        now = wake_.load(std::memory_order_acquire);
      }
      seen = now;
      if (stop_.load())
        return;
      if (flushing != flushSubnormals()) { // changed between steps
        flushing = flushSubnormals();
        enterCompiledCodeFloatMode();
      }
      claim(generation_.load(std::memory_order_acquire));
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  Slot slots_[2];
  /// (generation << 32) | the next task to claim.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<uint64_t> generation_{0};
  /// Bumped for each loop (and at shutdown); workers sleep on it (a futex).
  std::atomic<uint32_t> wake_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  // The caller's: how long it runs loops alone after stalls.
  Clock::duration solo_ = Clock::duration::zero();
  Clock::time_point soloUntil_;
  Clock::time_point lastStall_;
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
  // The pool numbers tasks in 32 bits; no kernel splits work that finely.
  if (p.threads() == 1 || count == 1 || count > (int64_t(1) << 31)) {
    body(context, 0, count);
    return;
  }
  p.run(body, context, count);
}
