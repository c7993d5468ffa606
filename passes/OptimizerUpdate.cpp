#include "passes/OptimizerUpdate.h"
#include "passes/DeadCode.h"
#include "passes/StepVariants.h"

#include "ir/Builder.h"
#include "ir/Clone.h"

#include <map>

namespace nabla::passes {

using namespace ir;
using Kind = OptimizerConfig::Kind;

namespace {

/// A scalar stretched to `type`.
Value *spread(Builder &b, Value *scalar, const TensorType &type) {
  return type.isScalar() ? scalar : b.broadcast(scalar, type.shape);
}

} // namespace

Function *appendOptimizer(Module &module, const Function &trainStep, const OptimizerConfig &opt,
                          DiagnosticEngine &diags, const char *name) {
  Function *fn = module.addFunction(name);
  cloneInto(trainStep, *fn);
  std::map<std::string, Value *> grads;
  for (const Result &r : fn->results)
    if (r.role == ResultRole::Grad)
      grads[r.name] = r.value;
  // Training reports the loss and then the metrics; outputs are for predict.
  keepResults(*fn, {ResultRole::Loss, ResultRole::Metric});

  std::vector<Argument *> params = fn->arguments(ArgRole::Param);
  Value *t = nullptr, *bc1 = nullptr, *bc2Sqrt = nullptr;
  Builder b(*fn, opt.loc);
  if (opt.kind == Kind::Adam || opt.kind == Kind::AdamW) {
    if (params.empty())
      return fn;
    DType dt = params[0]->value.type.dtype;
    for (Argument *p : params)
      if (p->value.type.dtype != dt) {
        diags.error(opt.loc, "{} needs params of one dtype, but '{}' is {} and '{}' is {}",
                    optimizerName(opt.kind), params[0]->value.name, dtypeName(dt), p->value.name,
                    dtypeName(p->value.type.dtype));
        return nullptr;
      }
    // t += 1; bias corrections 1 - b1^t and sqrt(1 - b2^t).
    TensorType scalar{dt, {}};
    Value *step = &fn->addArgument(ArgRole::State, "step", scalar, opt.loc)->value;
    t = b.add(step, b.constant(1, scalar));
    fn->addResult(ResultRole::State, "step", t);
    Value *one = b.constant(1, scalar);
    bc1 = b.sub(one, b.pow(b.constant(opt.beta1, scalar), t));
    Value *alsoOne = b.constant(1, scalar);
    bc2Sqrt = b.sqrt(b.sub(alsoOne, b.pow(b.constant(opt.beta2, scalar), t)));
  }

  if (opt.kind == Kind::Lm && !params.empty()) {
    // Levenberg-Marquardt's damping mu, carried from step to step.
    TensorType scalar{params[0]->value.type.dtype, {}};
    Value *mu = &fn->addArgument(ArgRole::State, "mu", scalar, opt.loc)->value;
    fn->addResult(ResultRole::State, "mu", mu);
  }

  for (Argument *param : params) {
    const std::string &name = param->value.name;
    const TensorType &type = param->value.type;
    Value *p = &param->value;
    Value *g = grads.at(name);
    auto state = [&](const std::string &kind) {
      return &fn->addArgument(ArgRole::State, kind + "." + name, type, param->loc)->value;
    };
    Value *next = nullptr;
    switch (opt.kind) {
    case Kind::Sgd: {
      if (opt.weightDecay != 0)
        g = b.add(g, b.scale(p, opt.weightDecay));
      if (opt.momentum != 0) {
        Value *buf = state("momentum");
        Value *newBuf = b.add(b.scale(buf, opt.momentum), g);
        fn->addResult(ResultRole::State, "momentum." + name, newBuf);
        g = opt.nesterov ? b.add(g, b.scale(newBuf, opt.momentum)) : newBuf;
      }
      next = b.sub(p, b.scale(g, opt.lr));
      break;
    }
    case Kind::Adam:
    case Kind::AdamW: {
      if (opt.kind == Kind::AdamW)
        p = b.scale(p, 1 - opt.lr * opt.weightDecay);
      else if (opt.weightDecay != 0)
        g = b.add(g, b.scale(p, opt.weightDecay));
      Value *m = state("exp_avg"), *v = state("exp_avg_sq");
      // m' = β1 m + (1 - β1) g,  v' = β2 v + (1 - β2) g²
      Value *keptM = b.scale(m, opt.beta1);
      Value *newM = b.add(keptM, b.scale(g, 1 - opt.beta1));
      Value *keptV = b.scale(v, opt.beta2);
      Value *newV = b.add(keptV, b.scale(b.mul(g, g), 1 - opt.beta2));
      fn->addResult(ResultRole::State, "exp_avg." + name, newM);
      fn->addResult(ResultRole::State, "exp_avg_sq." + name, newV);
      // p' = p - lr/(1 - β1^t) · m' / (√v' / √(1 - β2^t) + ε)
      Value *rootV = b.sqrt(newV);
      Value *corrected = b.div(rootV, spread(b, bc2Sqrt, type));
      Value *denom = b.add(corrected, b.constant(opt.eps, type));
      Value *stepSize = b.div(b.constant(opt.lr, bc1->type), bc1);
      Value *stepSizes = spread(b, stepSize, type);
      next = b.sub(p, b.mul(stepSizes, b.div(newM, denom)));
      break;
    }
    case Kind::Lm: // solved outside the graph (training/LevenbergMarquardt.h)
      next = p;
      break;
    case Kind::RmsProp: {
      Value *v = state("square_avg");
      // v' = α v + (1 - α) g²,  p' = p - lr · g / (√v' + ε)
      Value *keptV = b.scale(v, opt.alpha);
      Value *newV = b.add(keptV, b.scale(b.mul(g, g), 1 - opt.alpha));
      fn->addResult(ResultRole::State, "square_avg." + name, newV);
      Value *rootV = b.sqrt(newV);
      Value *avg = b.add(rootV, b.constant(opt.eps, type));
      next = b.sub(p, b.scale(b.div(g, avg), opt.lr));
      break;
    }
    }
    if (next->name.empty() && next != p)
      next->name = name + ".next";
    fn->addResult(ResultRole::Update, name, next);
  }
  // The loss, the metrics, the new params, the new state.
  keepResults(*fn, {ResultRole::Loss, ResultRole::Metric, ResultRole::Update, ResultRole::State});
  removeDeadOps(*fn);
  removeUnusedInputs(*fn);
  return fn;
}

Function *applyGradients(Module &module, const Function &trainStep, const OptimizerConfig &opt,
                         DiagnosticEngine &diags, const char *name) {
  // A step whose gradients are its inputs: the optimizer appended to it
  // is the update alone.
  Function given("gradients_given");
  std::vector<std::pair<std::string, Value *>> grads;
  DType dtype = DType::F32;
  for (const Argument *p : trainStep.arguments(ArgRole::Param)) {
    given.addArgument(ArgRole::Param, p->value.name, p->value.type, p->loc);
    Argument *g =
        given.addArgument(ArgRole::Input, kGradInputPrefix + p->value.name, p->value.type, p->loc);
    grads.emplace_back(p->value.name, &g->value);
    dtype = p->value.type.dtype;
  }
  for (const auto &[param, g] : grads)
    given.addResult(ResultRole::Grad, param, g);
  Attrs zero;
  zero.value = 0;
  given.addResult(ResultRole::Loss, "",
                  given.append(OpKind::Constant, {}, TensorType{dtype, {}}, zero, opt.loc));
  return appendOptimizer(module, given, opt, diags, name);
}

} // namespace nabla::passes
