#include "support/Random.h"
#include "support/Hash.h"

#include <cmath>

namespace nabla {

namespace {
uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
} // namespace

Random::Random(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t &s : s_)
    s = splitmix64(state);
}

Random::Random(uint64_t seed, std::string_view name) : Random(seed ^ rotl(fnv1a(name), 17)) {}

uint64_t Random::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Random::uniform() { return double(next() >> 11) * 0x1.0p-53; }

double Random::normal() {
  if (haveSpare_) {
    haveSpare_ = false;
    return spare_;
  }
  double u = 0;
  while (u == 0)
    u = uniform();
  double v = uniform();
  double r = std::sqrt(-2 * std::log(u));
  spare_ = r * std::sin(2 * M_PI * v);
  haveSpare_ = true;
  return r * std::cos(2 * M_PI * v);
}

uint64_t Random::below(uint64_t n) {
  // Rejection sampling avoids the bias of a plain modulo.
  uint64_t limit = ~uint64_t(0) - (~uint64_t(0) % n);
  uint64_t x;
  do
    x = next();
  while (x >= limit);
  return x % n;
}

} // namespace nabla
