#include "passes/OptimizerUpdate.h"
#include "passes/DeadCode.h"
#include "passes/StepVariants.h"

#include "ir/Clone.h"

#include <map>

namespace nabla::passes {

using namespace ir;
using Kind = OptimizerConfig::Kind;

namespace {

/// Emits the update's ops at one source position.
class UpdateBuilder {
public:
  UpdateBuilder(Function &fn, SourceLoc loc) : fn_(fn), loc_(loc) {}

  Value *emit(OpKind kind, std::vector<Value *> operands, const TensorType &type, Attrs a = {}) {
    return fn_.append(kind, std::move(operands), type, std::move(a), loc_);
  }
  Value *c(double value, const TensorType &type) {
    Attrs a;
    a.value = value;
    return emit(OpKind::Constant, {}, type, a);
  }
  Value *add(Value *a, Value *b) { return emit(OpKind::Add, {a, b}, a->type); }
  Value *sub(Value *a, Value *b) { return emit(OpKind::Sub, {a, b}, a->type); }
  Value *mul(Value *a, Value *b) { return emit(OpKind::Mul, {a, b}, a->type); }
  Value *div(Value *a, Value *b) { return emit(OpKind::Div, {a, b}, a->type); }
  Value *sqrt(Value *a) { return emit(OpKind::Sqrt, {a}, a->type); }
  /// a * k for a number k.
  Value *scale(Value *a, double k) { return mul(a, c(k, a->type)); }
  /// A scalar stretched to `type`.
  Value *spread(Value *scalar, const TensorType &type) {
    return type.isScalar() ? scalar : emit(OpKind::Broadcast, {scalar}, type);
  }

private:
  Function &fn_;
  SourceLoc loc_;
};

} // namespace

Function *appendOptimizer(Module &module, const Function &trainStep, const OptimizerConfig &opt,
                          DiagnosticEngine &diags) {
  Function *fn = module.addFunction(kUpdateFunction);
  cloneInto(trainStep, *fn);
  std::map<std::string, Value *> grads;
  for (const Result &r : fn->results)
    if (r.role == ResultRole::Grad)
      grads[r.name] = r.value;
  // Training reports the loss and then the metrics; outputs are for predict.
  keepResults(*fn, {ResultRole::Loss, ResultRole::Metric});

  std::vector<Argument *> params = fn->arguments(ArgRole::Param);
  Value *t = nullptr, *bc1 = nullptr, *bc2Sqrt = nullptr;
  UpdateBuilder b(*fn, opt.loc);
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
    t = b.add(step, b.c(1, scalar));
    fn->addResult(ResultRole::State, "step", t);
    bc1 = b.sub(b.c(1, scalar), b.emit(OpKind::Pow, {b.c(opt.beta1, scalar), t}, scalar));
    bc2Sqrt =
        b.sqrt(b.sub(b.c(1, scalar), b.emit(OpKind::Pow, {b.c(opt.beta2, scalar), t}, scalar)));
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
      Value *newM = b.add(b.scale(m, opt.beta1), b.scale(g, 1 - opt.beta1));
      Value *newV = b.add(b.scale(v, opt.beta2), b.scale(b.mul(g, g), 1 - opt.beta2));
      fn->addResult(ResultRole::State, "exp_avg." + name, newM);
      fn->addResult(ResultRole::State, "exp_avg_sq." + name, newV);
      Value *denom = b.add(b.div(b.sqrt(newV), b.spread(bc2Sqrt, type)), b.c(opt.eps, type));
      Value *stepSize = b.div(b.c(opt.lr, bc1->type), bc1);
      next = b.sub(p, b.mul(b.spread(stepSize, type), b.div(newM, denom)));
      break;
    }
    case Kind::RmsProp: {
      Value *v = state("square_avg");
      Value *newV = b.add(b.scale(v, opt.alpha), b.scale(b.mul(g, g), 1 - opt.alpha));
      fn->addResult(ResultRole::State, "square_avg." + name, newV);
      Value *avg = b.add(b.sqrt(newV), b.c(opt.eps, type));
      next = b.sub(p, b.scale(b.div(g, avg), opt.lr));
      break;
    }
    }
    if (next->name.empty())
      next->name = name + ".next";
    fn->addResult(ResultRole::Update, name, next);
  }
  // The loss, the metrics, the new params, the new state.
  keepResults(*fn, {ResultRole::Loss, ResultRole::Metric, ResultRole::Update, ResultRole::State});
  removeDeadOps(*fn);
  removeUnusedInputs(*fn);
  return fn;
}

} // namespace nabla::passes
