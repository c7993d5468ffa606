#include "passes/Jacobian.h"
#include "passes/Adjoint.h"
#include "passes/StepVariants.h"

#include "ir/Builder.h"
#include "ir/Clone.h"

#include <numeric>

namespace nabla::passes {

using namespace ir;

Function *addResidualRows(Module &module, const Function &forward, const std::string &name,
                          DiagnosticEngine &diags) {
  const Result *residual = forward.findResult(ResultRole::Residual, kResidualName);
  if (!residual) {
    diags.error({}, "internal error: the function has no residual to take the Jacobian of");
    return nullptr;
  }
  // seeded(args, u) = sum(r * u), built aside: only its derivative joins the module.
  Module scratch;
  Function &seeded = *scratch.addFunction("seeded");
  ValueMap copies = cloneInto(forward, seeded);
  Value *r = copies.at(residual->value);
  seeded.results.clear();
  Value *u = &seeded.addArgument(ArgRole::Input, kResidualSeed, r->type, {})->value;
  Builder b(seeded, r->def ? r->def->loc : SourceLoc{});
  std::vector<int64_t> axes(r->type.rank());
  std::iota(axes.begin(), axes.end(), 0);
  seeded.addResult(ResultRole::Loss, "", b.reduceSum(b.mul(r, u), axes, false));
  Function *rows = differentiate(module, seeded, name, diags);
  if (rows)
    keepResults(*rows, {ResultRole::Grad});
  return rows;
}

} // namespace nabla::passes
