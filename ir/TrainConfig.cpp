#include "ir/TrainConfig.h"

namespace nabla {

const char *initializerName(Initializer::Kind kind) {
  switch (kind) {
  case Initializer::Kind::Zeros: return "zeros";
  case Initializer::Kind::Ones: return "ones";
  case Initializer::Kind::Constant: return "constant";
  case Initializer::Kind::Uniform: return "uniform";
  case Initializer::Kind::Normal: return "normal";
  case Initializer::Kind::GlorotUniform: return "glorot_uniform";
  case Initializer::Kind::GlorotNormal: return "glorot_normal";
  case Initializer::Kind::HeUniform: return "he_uniform";
  case Initializer::Kind::HeNormal: return "he_normal";
  case Initializer::Kind::LecunNormal: return "lecun_normal";
  }
  return "?";
}

const char *optimizerName(OptimizerConfig::Kind kind) {
  switch (kind) {
  case OptimizerConfig::Kind::Sgd: return "sgd";
  case OptimizerConfig::Kind::Adam: return "adam";
  case OptimizerConfig::Kind::AdamW: return "adamw";
  case OptimizerConfig::Kind::RmsProp: return "rmsprop";
  }
  return "?";
}

} // namespace nabla
