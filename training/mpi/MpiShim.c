/*===- MpiShim.c - The few MPI calls data-parallel training makes ---------===//
 *
 * Built as libnabla_mpi.so next to the tool, against OpenMPI's mpi.h. The
 * tool loads it (training/Communicator.cpp) only when it finds itself
 * launched by mpirun, so `nabla` neither links MPI nor needs an MPI runtime
 * installed to run alone. A C ABI of plain types: the tool sees no MPI
 * handle.
 *===----------------------------------------------------------------------===*/
#include <mpi.h>
#include <stdint.h>

/* Starts MPI; the calling process's rank and the number of ranks. 0 on success. */
int nabla_mpi_init(int *rank, int *size) {
  int started = 0;
  if (MPI_Initialized(&started) != MPI_SUCCESS)
    return 1;
  if (!started && MPI_Init(NULL, NULL) != MPI_SUCCESS)
    return 1;
  /* Errors end the job (the default handler): a rank that cannot reduce
   * must not leave the others waiting. */
  if (MPI_Comm_rank(MPI_COMM_WORLD, rank) != MPI_SUCCESS ||
      MPI_Comm_size(MPI_COMM_WORLD, size) != MPI_SUCCESS)
    return 1;
  return 0;
}

/* Replaces the `count` values of `type` (`size` bytes each) at `data`, on
 * every rank, by their sums over the ranks. MPI counts are ints: the
 * values go in parts. */
static int sum(void *data, int64_t count, MPI_Datatype type, size_t size) {
  for (int64_t done = 0; done < count;) {
    int part = count - done > INT32_MAX ? INT32_MAX : (int)(count - done);
    if (MPI_Allreduce(MPI_IN_PLACE, (char *)data + (size_t)done * size, part, type, MPI_SUM,
                      MPI_COMM_WORLD) != MPI_SUCCESS)
      return 1;
    done += part;
  }
  return 0;
}

int nabla_mpi_sum_f32(float *data, int64_t count) {
  return sum(data, count, MPI_FLOAT, sizeof(float));
}

int nabla_mpi_sum_f64(double *data, int64_t count) {
  return sum(data, count, MPI_DOUBLE, sizeof(double));
}

/* Ends every rank of the job with `code`. */
void nabla_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int nabla_mpi_finalize(void) { return MPI_Finalize() == MPI_SUCCESS ? 0 : 1; }
