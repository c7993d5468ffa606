//===- peak.cpp - The machine's limits, for the roofline ------------------===//
//
// Measures what docs/performance.md's roofline is drawn against: the peak
// rate of fused multiply-adds (one thread, and every thread at once) with
// the widest vectors the CPU has (or AVX2 with --avx2), and the bandwidth
// of a read-modify-write stream (Adam's epilogue reads and writes W, m and
// v) for a working set the size of the benchmark MLP's optimizer state and
// for one far larger than the caches.
//
// usage: nabla_peak [--avx2] [--threads N]
// prints one "name value" line per figure (GFLOP/s, GB/s).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Independent accumulators per thread: two FMA units times a latency of
/// four cycles need eight; more hide the loop's own instructions, as long
/// as they and the two operands fit the register file (16 ymm registers
/// with AVX2, 32 with AVX-512).
template <int Lanes> constexpr int kChains = Lanes == 16 ? 16 : 12;
constexpr long kIterations = 20'000'000;

template <int Lanes> using Vector = float __attribute__((vector_size(4 * Lanes)));

/// kIterations rounds of kChains independent FMAs on `Lanes`-wide vectors;
/// returns a value that depends on every one (so nothing is dropped).
template <int Lanes> __attribute__((always_inline)) inline float fmaChains(float seed) {
  Vector<Lanes> acc[kChains<Lanes>];
  Vector<Lanes> a, b;
  for (int l = 0; l < Lanes; ++l) {
    a[l] = 0.999999f;
    b[l] = seed * 1e-7f;
  }
  for (int c = 0; c < kChains<Lanes>; ++c)
    acc[c] = a * float(c);
  for (long i = 0; i < kIterations; ++i) {
#pragma clang loop unroll(full)
    for (int c = 0; c < kChains<Lanes>; ++c)
      acc[c] = acc[c] * a + b; // one FMA (contracted; not reassociated)
  }
  float sum = 0;
  for (int c = 0; c < kChains<Lanes>; ++c)
    for (int l = 0; l < Lanes; ++l)
      sum += acc[c][l];
  return sum;
}

__attribute__((target("avx512f,fma"))) float fma512(float seed) { return fmaChains<16>(seed); }
__attribute__((target("avx2,fma"))) float fma256(float seed) { return fmaChains<8>(seed); }

/// GFLOP/s of `threads` threads each running the FMA chains at once.
double fmaPeak(int threads, bool avx512) {
  std::vector<std::thread> pool;
  std::vector<float> sink(threads);
  Clock::time_point start = Clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { sink[t] = avx512 ? fma512(float(t + 1)) : fma256(float(t + 1)); });
  for (std::thread &t : pool)
    t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double flops = 2.0 * (avx512 ? kChains<16> * 16 : kChains<8> * 8) * double(kIterations) * threads;
  if (sink[0] == 12345.f) // never: uses the results
    std::puts("");
  return flops / seconds / 1e9;
}

/// One round of an Adam-like update of w[begin, end), m and v with the
/// gradient `g`: three arrays read and written, a few flops per element
/// (no division or square root, so that memory, not arithmetic, bounds it).
__attribute__((target("avx2,fma"))) void updateShare(float *w, float *m, float *v, size_t begin,
                                                     size_t end, float g) {
  for (size_t i = begin; i < end; ++i) {
    m[i] = 0.9f * m[i] + 0.1f * g;
    v[i] = 0.999f * v[i] + 0.001f * g * g;
    w[i] -= 1e-3f * m[i] * v[i];
  }
}

/// GB/s (bytes read plus written) of `threads` threads each updating its
/// share of three arrays of `bytes` in all, `rounds` times.
double updateBandwidth(size_t bytes, int threads, int rounds) {
  size_t n = bytes / (3 * sizeof(float));
  std::vector<float> w(n, 1.f), m(n, 0.5f), v(n, 0.25f);
  auto run = [&](int count) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int r = 0; r < count; ++r)
          updateShare(w.data(), m.data(), v.data(), n * t / threads, n * (t + 1) / threads,
                      1e-3f * float(r % 7 + 1));
      });
    for (std::thread &t : pool)
      t.join();
  };
  run(2); // warms the caches (and maps the pages)
  Clock::time_point start = Clock::now();
  run(rounds);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return 2.0 * double(bytes) * rounds / seconds / 1e9;
}

} // namespace

int main(int argc, char **argv) {
  bool avx512 = __builtin_cpu_supports("avx512f");
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--avx2")) {
      avx512 = false;
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: nabla_peak [--avx2] [--threads N]\n");
      return 2;
    }
  }
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "nabla_peak: this CPU has no AVX2 with FMA\n");
    return 1;
  }
  // Best of five: the machine is shared, and a peak is the fastest run.
  auto best = [](auto measure) {
    double b = 0;
    for (int r = 0; r < 5; ++r)
      b = std::max(b, measure());
    return b;
  };
  std::printf("vector_bits %d\n", avx512 ? 512 : 256);
  std::printf("threads %d\n", threads);
  std::printf("fma_gflops_1_thread %.1f\n", best([&] { return fmaPeak(1, avx512); }));
  std::printf("fma_gflops %.1f\n", best([&] { return fmaPeak(threads, avx512); }));
  // The benchmark MLP's W, m and v: 535,818 params of 4 bytes, three times.
  std::printf("update_gbps_mlp_state %.1f\n",
              best([&] { return updateBandwidth(3 * 535818 * 4, threads, 400); }));
  std::printf("update_gbps_1gb %.1f\n",
              best([&] { return updateBandwidth(size_t(1) << 30, threads, 3); }));
}
