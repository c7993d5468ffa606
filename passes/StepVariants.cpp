#include "passes/StepVariants.h"
#include "passes/DeadCode.h"

#include "ir/Clone.h"

#include <algorithm>

namespace nabla::passes {

using namespace ir;

void keepResults(Function &fn, std::initializer_list<ResultRole> roles) {
  std::vector<Result> kept;
  for (ResultRole role : roles)
    for (const Result &r : fn.results)
      if (r.role == role)
        kept.push_back(r);
  fn.results = std::move(kept);
}

Function *addStepVariant(Module &module, const Function &forward, const char *name,
                         std::initializer_list<ResultRole> roles) {
  Function *fn = module.addFunction(name);
  cloneInto(forward, *fn);
  keepResults(*fn, roles);
  removeDeadOps(*fn);
  removeUnusedInputs(*fn);
  return fn;
}

} // namespace nabla::passes
