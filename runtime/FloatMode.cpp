#include "runtime/FloatMode.h"

#include <atomic>

namespace nabla {

namespace {

std::atomic<bool> flush{true};

/// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
constexpr unsigned kFtzDaz = (1u << 15) | (1u << 6);

unsigned readMode() {
#if defined(__x86_64__)
  return __builtin_ia32_stmxcsr();
#else
  return 0;
#endif
}

void writeMode(unsigned mode) {
#if defined(__x86_64__)
  __builtin_ia32_ldmxcsr(mode);
#else
  (void)mode;
#endif
}

/// `mode` with the subnormal bits as setFlushSubnormals asks.
unsigned compiledCodeMode(unsigned mode) {
  return flush.load(std::memory_order_relaxed) ? mode | kFtzDaz : mode & ~kFtzDaz;
}

} // namespace

void setFlushSubnormals(bool value) { flush.store(value, std::memory_order_relaxed); }
bool flushSubnormals() { return flush.load(std::memory_order_relaxed); }

CompiledCodeFloatMode::CompiledCodeFloatMode() : saved_(readMode()) {
  writeMode(compiledCodeMode(saved_));
}

CompiledCodeFloatMode::~CompiledCodeFloatMode() { writeMode(saved_); }

void enterCompiledCodeFloatMode() { writeMode(compiledCodeMode(readMode())); }

} // namespace nabla
