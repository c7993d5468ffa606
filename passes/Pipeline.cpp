//===- Pipeline.cpp - The optimization pipeline, in one list --------------===//
#include "passes/Pipeline.h"
#include "passes/CSE.h"
#include "passes/ConstantFold.h"
#include "passes/DeadCode.h"
#include "passes/Fusion.h"
#include "passes/GatherLoops.h"
#include "passes/Simplify.h"

namespace nabla::passes {

const std::vector<Pass> &allPasses() {
  static const std::vector<Pass> passes = {
      {"simplify", "algebraic identities, transposes into matmul flags, reductions of broadcasts",
       simplify},
      {"fold-constants", "ops of constant operands become constants", foldConstants},
      {"cse", "one op for each distinct computation", eliminateCommonSubexpressions},
      {"dce", "removes ops no result needs", removeDeadOps},
      {"fuse", "element-wise chains and matmul / softmax epilogues become one kernel each", fuse},
      {"gather-loops", "the gradient ops of one backward loop side by side, one kernel for all",
       gatherLoopParts},
  };
  return passes;
}

std::vector<Pass> optimizationPipeline() {
  auto pass = [](const char *name) {
    for (const Pass &p : allPasses())
      if (p.name == name)
        return p;
    return Pass{};
  };
  return {
      // What lowering and the adjoint pass leave behind: identities (x * 1,
      // x + 0), transposes that matmul flags absorb, sums of broadcasts, and
      // the recomputed softmax, sizes and zero constants of the backward sweep.
      pass("simplify"),
      pass("fold-constants"),
      pass("cse"),
      pass("dce"),
      // Once more: folding and merging expose new identities (x - x once the
      // two x are one op).
      pass("simplify"),
      pass("fold-constants"),
      pass("cse"),
      pass("dce"),
      // Last, group what is left into kernels, and merge the constants and
      // sizes fusion copied into a group more than once. Memory is planned
      // per set of sizes by the code generator (codegen/MemoryPlan.h).
      pass("fuse"),
      pass("cse"),
      pass("dce"),
      // The parts of each backward loop next to each other, so that one run
      // of the loop computes them all (ir/Loops.h).
      pass("gather-loops"),
  };
}

} // namespace nabla::passes
