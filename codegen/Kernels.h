//===- Kernels.h - The body of each op's kernel -----------------*- C++ -*-===//
#pragma once

#include "codegen/KernelBuilder.h"

namespace nabla::codegen {

/// Emits the body of the kernel for k.op (ending with `ret`).
void emitKernel(KernelBuilder &k);

// One function per family of ops, in the file of the same name.
void emitElementwise(KernelBuilder &k);  ///< ElementwiseKernels.cpp
void emitDataMovement(KernelBuilder &k); ///< DataMovementKernels.cpp
void emitReduction(KernelBuilder &k);    ///< ReductionKernels.cpp
void emitMatMul(KernelBuilder &k);       ///< MatMulKernels.cpp: simple loops, or emitGemm
void emitGemm(KernelBuilder &k);         ///< GemmKernels.cpp: tiled, blocked, parallel

/// Whether a matmul of these shapes is worth the tiled kernel.
bool useGemm(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in);
/// Scratch space the tiled kernel needs (packed panels of a transposed B).
size_t gemmScratchBytes(const ir::Op &op, const Sizes &out, const std::vector<Sizes> &in);
void emitNeural(KernelBuilder &k);      ///< NeuralKernels.cpp
void emitConvolution(KernelBuilder &k); ///< ConvolutionKernels.cpp

/// The value element-wise `op` computes from one element of each operand
/// (`x`, in order): the scalar formula shared by every kernel that does
/// element-wise work.
llvm::Value *emitScalar(KernelBuilder &k, const ir::Op &op, const std::vector<llvm::Value *> &x);

} // namespace nabla::codegen
