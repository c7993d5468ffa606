//===- LLVMPipeline.h - LLVM's optimization pipeline ------------*- C++ -*-===//
#pragma once

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace nabla::codegen {

/// Runs the new pass manager's default pipeline for -O`optLevel` (0 to 3) on
/// `module`, tuned for `tm`, with glibc's vector math library available to
/// the loop vectorizer.
void runLLVMPipeline(llvm::Module &module, llvm::TargetMachine &tm, int optLevel);

} // namespace nabla::codegen
