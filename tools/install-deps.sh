#!/usr/bin/env bash
# Installs the Debian 12 packages Nabla needs to build, test and run, and nothing else.
# Packages already installed are skipped, so running it again costs one dpkg query.
#
#   tools/install-deps.sh            build and test dependencies
#   tools/install-deps.sh --data     also the Fashion-MNIST dataset (make run, make test)
#   tools/install-deps.sh --bench    the dataset and python3-venv, for make bench's JAX
#                                    virtual environment (tools/bench-venv.sh)
set -euo pipefail

packages=(
  # Build: compiler, generator, cache.
  cmake ninja-build ccache g++
  clang-19 libclang-rt-19-dev   # the compiler; ASan/UBSan and libFuzzer runtimes
  llvm-19-dev llvm-19-tools     # LLVM libraries and CMake package; FileCheck-19
  libfmt-dev libgtest-dev zlib1g-dev
  libeigen3-dev                 # dense solves: the lm optimizer's normal equations
  # Test oracles and benchmark baselines: /usr/bin/python3 with NumPy and
  # PyTorch, and OpenBLAS for PyTorch's (and the matmul benchmark's) BLAS.
  python3 python3-numpy python3-torch libopenblas0-pthread
  python3-matplotlib            # the plots of the docs (tools/curve-fit-comparison.py)
  # The Python module (import nabla): bindings, headers, its tests.
  pybind11-dev python3-dev python3-pytest
  # Data-parallel training: mpirun, and mpi.h for the MPI shim the tool
  # loads only when launched under mpirun.
  openmpi-bin libopenmpi-dev
)
case "${1:-}" in
  --data) packages+=(dataset-fashion-mnist) ;;
  --bench) packages+=(dataset-fashion-mnist python3-venv) ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
