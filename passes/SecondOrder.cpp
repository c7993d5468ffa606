#include "passes/SecondOrder.h"
#include "passes/Adjoint.h"
#include "passes/StepVariants.h"

#include "ir/Builder.h"
#include "ir/Clone.h"

#include <numeric>

namespace nabla::passes {

using namespace ir;

Function *addHessianVectorProduct(Module &module, const Function &step, const std::string &name,
                                  DiagnosticEngine &diags) {
  // dot(args, v) = sum over params p of <dL/dp, v_p>, built aside: only its
  // derivative joins the module.
  Module scratch;
  Function &dot = *scratch.addFunction("dot");
  ValueMap copies = cloneInto(step, dot);
  dot.results.clear();
  Builder b(dot);
  Value *total = nullptr;
  for (const Result &r : step.results) {
    if (r.role != ResultRole::Grad)
      continue;
    Value *gradient = copies.at(r.value);
    Value *v =
        &dot.addArgument(ArgRole::Input, kDirectionPrefix + r.name, gradient->type, {})->value;
    std::vector<int64_t> axes(gradient->type.rank());
    std::iota(axes.begin(), axes.end(), 0);
    Value *term = b.reduceSum(b.mul(gradient, v), axes, false);
    total = total ? b.add(total, term) : term;
  }
  if (!total) {
    diags.error({}, "the script has no params: there is no Hessian");
    return nullptr;
  }
  dot.addResult(ResultRole::Loss, "", total);
  // d dot / d p = H v: the second sweep runs back through the first.
  Function *hvp = differentiate(module, dot, name, diags);
  if (hvp)
    keepResults(*hvp, {ResultRole::Grad});
  return hvp;
}

} // namespace nabla::passes
