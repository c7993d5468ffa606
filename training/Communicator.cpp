#include "training/Communicator.h"

#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

#include <cstdlib>
#include <dlfcn.h>

namespace nabla {

/// The shim's functions (training/mpi/MpiShim.c).
struct Communicator::Api {
  void *library = nullptr;
  int (*init)(int *, int *) = nullptr;
  int (*sumF32)(float *, int64_t) = nullptr;
  int (*sumF64)(double *, int64_t) = nullptr;
  void (*abort)(int) = nullptr;
  int (*finalize)() = nullptr;
};

namespace {

bool launchedByMpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK"); }

/// libnabla_mpi.so in the folder of the running executable (or
/// NABLA_MPI_SHIM).
std::string shimPath() {
  if (const char *path = std::getenv("NABLA_MPI_SHIM"))
    return path;
  std::string self = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  return (llvm::sys::path::parent_path(self) + "/libnabla_mpi.so").str();
}

template <typename F> bool find(void *library, const char *name, F &f) {
  f = reinterpret_cast<F>(dlsym(library, name));
  return f != nullptr;
}

} // namespace

std::unique_ptr<Communicator> Communicator::fromEnvironment(std::string &error) {
  if (!launchedByMpirun())
    return nullptr;
  std::unique_ptr<Communicator> c(new Communicator());
  c->api_ = std::make_unique<Api>();
  Api &api = *c->api_;
  std::string path = shimPath();
  // Global: OpenMPI's plugins resolve libmpi's symbols in the process.
  api.library = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!api.library) {
    const char *why = dlerror();
    error = "launched by mpirun, but the MPI shim " + path + " cannot be loaded (" +
            (why ? why : "unknown error") +
            "); build Nabla with libopenmpi-dev installed (tools/install-deps.sh)";
    return nullptr;
  }
  if (!find(api.library, "nabla_mpi_init", api.init) ||
      !find(api.library, "nabla_mpi_sum_f32", api.sumF32) ||
      !find(api.library, "nabla_mpi_sum_f64", api.sumF64) ||
      !find(api.library, "nabla_mpi_abort", api.abort) ||
      !find(api.library, "nabla_mpi_finalize", api.finalize)) {
    error = "the MPI shim " + path + " lacks a function; it is from another build";
    return nullptr;
  }
  if (api.init(&c->rank_, &c->size_) != 0) {
    error = "MPI could not start";
    return nullptr;
  }
  return c;
}

Communicator::~Communicator() {
  if (api_ && api_->finalize)
    api_->finalize();
}

void Communicator::sum(float *data, int64_t count) {
  if (api_->sumF32(data, count) != 0)
    abort(1);
}

void Communicator::sum(double *data, int64_t count) {
  if (api_->sumF64(data, count) != 0)
    abort(1);
}

void Communicator::abort(int code) {
  api_->abort(code);
  std::_Exit(code); // MPI_Abort does not return; in case it does
}

} // namespace nabla
