//===- Target.h - The host CPU as a code generation target ------*- C++ -*-===//
#pragma once

#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
}

namespace nabla::codegen {

/// The host's CPU name and features (e.g. "znver4", "+avx512f,+fma,...").
struct HostTarget {
  std::string triple;
  std::string cpu;
  std::string features;
};

/// Detects the host once (initializing LLVM's native target).
const HostTarget &hostTarget();

/// A target machine for the host at -O`optLevel`; null and `error` set on failure.
std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(int optLevel, std::string &error);

} // namespace nabla::codegen
