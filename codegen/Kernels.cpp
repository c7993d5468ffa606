#include "codegen/Kernels.h"

#include <cassert>

namespace nabla::codegen {

using ir::OpKind;

void emitKernel(KernelBuilder &k) {
  switch (k.op.info().family) {
  case ir::OpFamily::Leaf:
  case ir::OpFamily::Layout: emitDataMovement(k); break;
  case ir::OpFamily::Unary:
  case ir::OpFamily::Binary:
  case ir::OpFamily::Comparison:
  case ir::OpFamily::Select: emitElementwise(k); break;
  case ir::OpFamily::Reduction: emitReduction(k); break;
  case ir::OpFamily::MatMul: emitMatMul(k); break;
  case ir::OpFamily::Neural: emitNeural(k); break;
  case ir::OpFamily::Convolution: emitConvolution(k); break;
  case ir::OpFamily::Pooling: emitPooling(k); break;
  case ir::OpFamily::Loop: // the module emitter runs loops (codegen/LoopKernels.h)
    assert(false && "a loop op reached the kernel emitter");
    break;
  }
  k.b.CreateRetVoid();
}

} // namespace nabla::codegen
