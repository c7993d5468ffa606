//===- OpCases.h - One small function per IR op, for tests ------*- C++ -*-===//
//
// Each case is the body of an IR function: its arguments and the ops that
// define %y, in f64. Tests append a weighting and a loss (AdjointTest) or run
// it as is (JITTest).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace nabla {

/// How a test draws an argument's values.
enum class Domain { Normal, Positive, Unit, Mask, Labels };

struct Case {
  std::string name;
  std::string body;
  std::vector<std::pair<std::string, Domain>> domains; ///< per argument, by name
};

/// Cases for every op with a gradient (every param takes part in %y).
std::vector<Case> differentiableCases();
/// Cases for the ops without one: constants, comparisons, argmax, one_hot, ...
std::vector<Case> gradientFreeCases();

/// The type of %y in a case's body ("f64[2, 3]"): the one after " : " on
/// its line (a loop's body follows it).
std::string resultTypeOf(const std::string &body);

/// Values for every argument of `fn` (of concrete shapes), drawn from the
/// stream of (seed, argument name): labels in [0, 3), the rest per domain.
std::vector<Tensor> drawArguments(const ir::Function &fn,
                                  const std::map<std::string, Domain> &domains, uint64_t seed);

} // namespace nabla
