#include "training/Initializers.h"
#include "support/Random.h"

#include <cmath>

namespace nabla {

std::pair<double, double> fans(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return {1, 1};
  if (shape.size() == 1)
    return {double(shape[0]), double(shape[0])};
  if (shape.size() == 2)
    return {double(shape[0]), double(shape[1])};
  double receptive = 1;
  for (size_t d = 2; d < shape.size(); ++d)
    receptive *= double(shape[d]);
  return {double(shape[1]) * receptive, double(shape[0]) * receptive};
}

Tensor initialize(const Initializer &init, DType dtype, const std::vector<int64_t> &shape,
                  uint64_t seed, const std::string &name) {
  using K = Initializer::Kind;
  Tensor t(dtype, shape);
  Random random(seed, name);
  auto [fanIn, fanOut] = fans(shape);
  auto fill = [&](auto draw) {
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, draw());
  };
  switch (init.kind) {
  case K::Zeros: break;
  case K::Ones: fill([] { return 1.0; }); break;
  case K::Constant: fill([&] { return init.a; }); break;
  case K::Uniform: fill([&] { return random.uniform(init.a, init.b); }); break;
  case K::Normal: fill([&] { return init.a + init.b * random.normal(); }); break;
  case K::GlorotUniform: {
    double limit = std::sqrt(6 / (fanIn + fanOut));
    fill([&] { return random.uniform(-limit, limit); });
    break;
  }
  case K::GlorotNormal: {
    double std = std::sqrt(2 / (fanIn + fanOut));
    fill([&] { return std * random.normal(); });
    break;
  }
  case K::HeUniform: {
    double limit = std::sqrt(6 / fanIn);
    fill([&] { return random.uniform(-limit, limit); });
    break;
  }
  case K::HeNormal: {
    double std = std::sqrt(2 / fanIn);
    fill([&] { return std * random.normal(); });
    break;
  }
  case K::LecunNormal: {
    double std = std::sqrt(1 / fanIn);
    fill([&] { return std * random.normal(); });
    break;
  }
  }
  return t;
}

} // namespace nabla
