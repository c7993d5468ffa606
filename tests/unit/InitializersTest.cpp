//===- InitializersTest.cpp - Initial values of params (spec §6) ----------===//
//
// The distributions are checked by their moments and bounds on large
// samples, against the spec's formulas computed here by hand; the streams by
// their dependence on (seed, name) only.
//
//===----------------------------------------------------------------------===//
#include "training/Initializers.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nabla {
namespace {

using Kind = Initializer::Kind;

Initializer make(Kind kind, double a = 0, double b = 0) {
  Initializer init;
  init.kind = kind;
  init.a = a;
  init.b = b;
  return init;
}

struct Moments {
  double mean = 0, std = 0, lo = INFINITY, hi = -INFINITY;
};

Moments moments(const Tensor &t) {
  Moments m;
  for (int64_t i = 0; i < t.numel(); ++i) {
    m.mean += t.get(i);
    m.lo = std::min(m.lo, t.get(i));
    m.hi = std::max(m.hi, t.get(i));
  }
  m.mean /= double(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i)
    m.std += (t.get(i) - m.mean) * (t.get(i) - m.mean);
  m.std = std::sqrt(m.std / double(t.numel()));
  return m;
}

TEST(Initializers, FansFollowTheSpec) {
  EXPECT_EQ(fans({784, 256}), std::make_pair(784.0, 256.0));
  EXPECT_EQ(fans({10}), std::make_pair(10.0, 10.0));
  // [out_c, in_c, kh, kw]: fan_in = in_c kh kw, fan_out = out_c kh kw.
  EXPECT_EQ(fans({16, 3, 5, 5}), std::make_pair(75.0, 400.0));
}

TEST(Initializers, DistributionsHaveTheSpecsMomentsAndBounds) {
  // A [400, 600] param: fan_in 400, fan_out 600, 240,000 draws, so sample
  // means are within about 0.01 standard deviations of the truth.
  std::vector<int64_t> shape = {400, 600};
  const double in = 400, out = 600;
  struct Case {
    Initializer init;
    double mean, std, limit; ///< limit: the bound of a uniform (0: unbounded)
  };
  std::vector<Case> cases = {
      {make(Kind::Uniform, -2, 3), 0.5, 5 / std::sqrt(12.0), 0},
      {make(Kind::Normal, 1.5, 0.25), 1.5, 0.25, 0},
      {make(Kind::GlorotUniform), 0, std::sqrt(6 / (in + out)) / std::sqrt(3.0),
       std::sqrt(6 / (in + out))},
      {make(Kind::GlorotNormal), 0, std::sqrt(2 / (in + out)), 0},
      {make(Kind::HeUniform), 0, std::sqrt(6 / in) / std::sqrt(3.0), std::sqrt(6 / in)},
      {make(Kind::HeNormal), 0, std::sqrt(2 / in), 0},
      {make(Kind::LecunNormal), 0, std::sqrt(1 / in), 0},
  };
  for (const Case &c : cases) {
    Tensor t = initialize(c.init, DType::F64, shape, 7, "W");
    Moments m = moments(t);
    SCOPED_TRACE(int(c.init.kind));
    EXPECT_NEAR(m.mean, c.mean, 0.02 * c.std);
    EXPECT_NEAR(m.std, c.std, 0.01 * c.std);
    if (c.limit) {
      EXPECT_GE(m.lo, -c.limit);
      EXPECT_LE(m.hi, c.limit);
      EXPECT_LT(m.lo, -0.999 * c.limit);
      EXPECT_GT(m.hi, 0.999 * c.limit);
    }
  }
  Tensor u = initialize(make(Kind::Uniform, -2, 3), DType::F32, shape, 7, "W");
  EXPECT_GE(moments(u).lo, -2);
  EXPECT_LE(moments(u).hi, 3);
  for (auto [kind, value] : std::vector<std::pair<Initializer, double>>{
           {make(Kind::Zeros), 0}, {make(Kind::Ones), 1}, {make(Kind::Constant, -0.5), -0.5}}) {
    Moments m = moments(initialize(kind, DType::F32, {3, 4}, 7, "W"));
    EXPECT_EQ(m.lo, value);
    EXPECT_EQ(m.hi, value);
  }
}

TEST(Initializers, ValuesDependOnlyOnTheSeedAndTheName) {
  Initializer init = make(Kind::HeNormal);
  auto draw = [&](uint64_t seed, const std::string &name) {
    return initialize(init, DType::F32, {8, 8}, seed, name);
  };
  auto same = [](const Tensor &a, const Tensor &b) {
    for (int64_t i = 0; i < a.numel(); ++i)
      if (a.get(i) != b.get(i))
        return false;
    return true;
  };
  Tensor w = draw(1, "W1");
  // Drawing other params first changes nothing: each has its own stream.
  draw(1, "W0");
  EXPECT_TRUE(same(w, draw(1, "W1")));
  EXPECT_FALSE(same(w, draw(1, "W2")));
  EXPECT_FALSE(same(w, draw(2, "W1")));
  // f64 draws the same numbers before rounding.
  Tensor w64 = initialize(init, DType::F64, {8, 8}, 1, "W1");
  for (int64_t i = 0; i < w.numel(); ++i)
    EXPECT_EQ(float(w64.get(i)), w.get(i));
}

} // namespace
} // namespace nabla
