//===- Initializers.h - Initial values of params ----------------*- C++ -*-===//
#pragma once

#include "ir/TrainConfig.h"
#include "runtime/Tensor.h"

#include <string>

namespace nabla {

/// fan_in and fan_out of a param of `shape`: [in, out] for rank 2,
/// [out_c, in_c, kh, ...] (receptive field multiplied in) for rank 3 and
/// more, the size for rank 1.
std::pair<double, double> fans(const std::vector<int64_t> &shape);

/// The initial value of param `name` of `dtype` and `shape`, drawn from the
/// stream of (seed, name).
Tensor initialize(const Initializer &init, DType dtype, const std::vector<int64_t> &shape,
                  uint64_t seed, const std::string &name);

} // namespace nabla
