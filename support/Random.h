//===- Random.h - A seeded, portable random number generator ----*- C++ -*-===//
//
// xoshiro256** seeded through splitmix64: the same numbers on every machine
// and library, unlike std::normal_distribution. Streams are derived from a
// seed and a name, so a param's initial values depend only on the seed and
// its name, never on the order of declarations.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string_view>

namespace nabla {

class Random {
public:
  explicit Random(uint64_t seed);
  /// The stream for `name` under `seed`.
  Random(uint64_t seed, std::string_view name);

  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal (Box-Muller).
  double normal();
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n);

private:
  uint64_t s_[4];
  bool haveSpare_ = false;
  double spare_ = 0;
};

} // namespace nabla
