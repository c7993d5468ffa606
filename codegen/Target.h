//===- Target.h - The CPU that code is generated for ------------*- C++ -*-===//
//
// One description of the target CPU feeds every kernel: its vector width,
// the number of vector registers, whether it has fused multiply-add and
// masked vector loads and stores, and its cache sizes. Kernels take their
// vector width, register tiles and cache blocking from it (docs/codegen.md,
// "Kernel shapes from the target"); nothing else in codegen assumes a width.
//
// A target is named by an LLVM CPU name (`haswell`, `x86-64-v3`,
// `skylake-avx512`, `znver4`, ...) or `native`, the host. Code for any
// known CPU can be emitted; it can run only where the host has every
// instruction-set feature the CPU implies (missingFeatures()).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Types.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace llvm {
class TargetMachine;
}

namespace nabla::codegen {

/// Data cache sizes in bytes as one core sees them; `l3` is the core's share
/// of a cache shared by several cores.
struct CacheSizes {
  int64_t l1d = 0;
  int64_t l2 = 0;
  int64_t l3 = 0;
};

struct Target {
  std::string name;     ///< as asked for: "native" or an LLVM CPU name
  std::string triple;   ///< the host's triple (code runs in this process)
  std::string cpu;      ///< LLVM's CPU name (the host's for "native")
  std::string features; ///< LLVM subtarget features, "+avx2,+fma,-avx512f,..."
  /// Bits of the widest vector register kernels use: 512 (AVX-512), 256
  /// (AVX, AVX2), 128 (SSE, NEON).
  unsigned vectorBits = 128;
  /// Architectural vector registers: 32 (AVX-512, AArch64), 16 (AVX2, SSE).
  unsigned vectorRegisters = 16;
  bool fma = false;          ///< fused multiply-add instructions
  bool maskedMemory = false; ///< masked vector loads and stores (AVX, AVX-512)
  CacheSizes caches;
  bool cachesFromHost = false; ///< read from the host, not a default
  /// Kernels run on the calling thread, never on the thread pool: the
  /// body of a loop whose rows are shared among threads (LoopKernels.h).
  bool serial = false;

  /// Elements of `d` per vector register.
  unsigned lanes(DType d) const { return vectorBits / 8 / unsigned(dtypeSize(d)); }
  /// "znver4 (512-bit vectors, 32 registers, L1 32K L2 1024K L3 16384K)": what
  /// the generated code depends on, for cache keys and dump headers.
  std::string describe() const;
};

/// The target for `name`: "native" (the host), or a CPU name LLVM knows for
/// the host's architecture. Null, with `error` set, for an unknown name.
std::optional<Target> targetFor(std::string_view name, std::string &error);

/// The host as a target ("native"); detected once.
const Target &hostTarget();

/// The instruction-set features `target`'s code may use that `hostFeatures`
/// lacks (none: the host can run it). The host's own features by default.
std::vector<std::string> missingFeatures(const Target &target);
std::vector<std::string> missingFeatures(const Target &target,
                                         const std::set<std::string> &hostFeatures);

/// "" when the host can run code for `target`, else why not: "cannot run
/// code for CPU 'X' on this host (Y), which lacks F, G; ...".
std::string whyHostCannotRun(const Target &target);

/// The instruction-set features LLVM detects on the host ("avx2", "fma", ...).
const std::set<std::string> &hostFeatures();

/// Data cache sizes assumed for a CPU name when it is not the host's
/// (documented in docs/codegen.md): by CPU family, else a conservative
/// default.
CacheSizes defaultCaches(std::string_view cpu);

/// An LLVM target machine for `target` at -O`optLevel`; null with `error` set
/// on failure.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(const Target &target, int optLevel,
                                                         std::string &error);

} // namespace nabla::codegen
