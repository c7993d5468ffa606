//===- Communicator.h - The ranks of a data-parallel run --------*- C++ -*-===//
//
// Under `mpirun -np N nabla train ...` each process is one rank. The tool
// does not link MPI: when the environment says a launcher started it
// (OMPI_COMM_WORLD_SIZE, or PMIX_RANK), it loads libnabla_mpi.so from its
// own folder (training/mpi/MpiShim.c, built against OpenMPI), which brings
// libmpi. Run alone, nothing is loaded and there is one rank.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace nabla {

class Communicator {
public:
  /// The job's communicator when a launcher started this process; null
  /// otherwise, or with `error` set when MPI cannot be loaded or started.
  static std::unique_ptr<Communicator> fromEnvironment(std::string &error);
  /// Finalizes MPI (every rank must get here, or abort).
  ~Communicator();

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Replaces data[0, count) on every rank by its sum over all ranks. A
  /// failure ends the job (MPI's default error handler).
  void sum(float *data, int64_t count);
  void sum(double *data, int64_t count);
  /// Ends every rank of the job with `code` (after an error on this one).
  [[noreturn]] void abort(int code);

private:
  Communicator() = default;
  struct Api;
  std::unique_ptr<Api> api_;
  int rank_ = 0, size_ = 1;
};

} // namespace nabla
