# Nabla's set-up, build and test commands. On a fresh Debian 12 machine:
#   make run    installs what is needed, builds, runs the main example
#   make test   installs what is needed, builds, runs every test
#   make bench  Nabla against PyTorch and JAX on this machine
# (tools/install-deps.sh installs the Debian packages; it skips installed ones.)

SHELL := /bin/bash

BUILD      ?= build
ASAN_BUILD ?= build-asan
RUN_DIR    ?= runs
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -timeout=10 -rss_limit_mb=4096 -print_final_stats=1

CCACHE := $(shell command -v ccache 2>/dev/null)
CMAKE_COMMON := -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  $(if $(CCACHE),-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Sanitizer runs stop at the first report.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps build asan run test test-release test-asan fuzz bench clean

all: build

deps:
	@tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD)

# The test suite again under AddressSanitizer + UndefinedBehaviorSanitizer,
# with the libFuzzer targets.
asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DNABLA_SANITIZE=ON -DNABLA_FUZZ=ON
	cmake --build $(ASAN_BUILD)

# Trains the Fashion-MNIST classifier (data from Debian's dataset-fashion-mnist);
# the trained params, the metrics per epoch and their plot land in $(RUN_DIR).
run: build
	@tools/install-deps.sh --data
	mkdir -p $(RUN_DIR)
	$(BUILD)/nabla train examples/fashion_mlp.nn --save $(RUN_DIR)/fashion_mlp.safetensors \
	  --metrics $(RUN_DIR)/fashion_mlp.csv --plot $(RUN_DIR)/fashion_mlp.svg

# Nabla against PyTorch, JAX and OpenBLAS on this machine (bench/run.py), with
# the machine's FMA peak and bandwidth (bench/peak.cpp) for the roofline; JAX
# runs in a virtual environment under the build folder (tools/bench-venv.sh).
# The tables it prints are what docs/performance.md shows.
bench: build
	@tools/install-deps.sh --bench
	tools/bench-venv.sh $(BUILD)/bench-venv
	/usr/bin/python3 bench/run.py $(BUILD)/nabla --jax $(BUILD)/bench-venv/bin/python \
	  --peak $(BUILD)/bench/nabla_peak

test: test-release test-asan fuzz

# The oracle tests train the CNN example on Fashion-MNIST for one epoch.
test-release: build
	@tools/install-deps.sh --data
	ctest --test-dir $(BUILD) --output-on-failure -j2

test-asan: asan
	@tools/install-deps.sh --data
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_BUILD) --output-on-failure -j2

# Fuzzes the script front end for FUZZ_SECONDS, and the tensor-file readers,
# the IR parser and compiled models' params loader for half as long each,
# seeded with the repository's files.
fuzz: asan
	rm -rf $(ASAN_BUILD)/fuzz-corpus && mkdir -p $(ASAN_BUILD)/fuzz-corpus/{nn,files,ir,params}
	$(SANITIZER_ENV) $(ASAN_BUILD)/tests/fuzz/nabla_parser_fuzzer $(FUZZ_FLAGS) \
	  -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/nn.dict \
	  $(ASAN_BUILD)/fuzz-corpus/nn examples tests/errors tests/lit/ast
	$(SANITIZER_ENV) $(ASAN_BUILD)/tests/fuzz/nabla_tensor_file_fuzzer $(FUZZ_FLAGS) \
	  -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) \
	  $(ASAN_BUILD)/fuzz-corpus/files tests/fuzz/corpus/tensor_files
	$(SANITIZER_ENV) $(ASAN_BUILD)/tests/fuzz/nabla_ir_parser_fuzzer $(FUZZ_FLAGS) \
	  -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) \
	  $(ASAN_BUILD)/fuzz-corpus/ir tests/fuzz/corpus/ir
	$(SANITIZER_ENV) $(ASAN_BUILD)/tests/fuzz/nabla_model_params_fuzzer $(FUZZ_FLAGS) \
	  -max_total_time=$$(( $(FUZZ_SECONDS) / 2 )) \
	  $(ASAN_BUILD)/fuzz-corpus/params tests/fuzz/corpus/model_params

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
