//===- FloatMode.h - How compiled code treats subnormal numbers -*- C++ -*-===//
//
// Compiled kernels run with flush-to-zero and denormals-are-zero set (the
// default, as XLA and TensorFlow run theirs): a subnormal float read as an
// operand counts as zero, and a result that would be subnormal is zero.
// On many CPUs each operation on a subnormal takes a microcode assist, a
// hundred times slower; Adam's moments decay into that range where a
// weight's gradient stays zero, so a training run slowed down as it
// learned. setFlushSubnormals(false) keeps IEEE subnormals (`nabla
// --ieee-subnormals`). Only compiled code changes mode: the reference
// interpreter and the rest of the process keep IEEE arithmetic
// (docs/performance.md, "Subnormal numbers").
//
//===----------------------------------------------------------------------===//
#pragma once

namespace nabla {

/// Whether compiled code flushes subnormals (true by default).
void setFlushSubnormals(bool flush);
bool flushSubnormals();

/// The calling thread's floating-point mode for running compiled code, for
/// as long as it lives; the previous mode after.
class CompiledCodeFloatMode {
public:
  CompiledCodeFloatMode();
  ~CompiledCodeFloatMode();
  CompiledCodeFloatMode(const CompiledCodeFloatMode &) = delete;
  CompiledCodeFloatMode &operator=(const CompiledCodeFloatMode &) = delete;

private:
  unsigned saved_;
};

/// Sets the calling thread's mode for compiled code for good (the pool's
/// workers, which run nothing else).
void enterCompiledCodeFloatMode();

} // namespace nabla
