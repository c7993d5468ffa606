# Nabla's set-up, build and test commands. On a fresh Debian 12 machine:
#   make run    installs what is needed, builds, runs the main example
#   make test   installs what is needed, builds, runs every test
# (tools/install-deps.sh installs the Debian packages; it skips installed ones.)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 60

CCACHE := $(shell command -v ccache 2>/dev/null)
CMAKE_COMMON := -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  $(if $(CCACHE),-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Sanitizer runs stop at the first report.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps build asan run test test-release test-asan fuzz clean

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

run: build
	@tools/install-deps.sh --data
	$(BUILD)/nabla check examples/fashion_mlp.nn
	$(BUILD)/nabla dump examples/fashion_mlp.nn --emit=ast

test: test-release test-asan fuzz

test-release: build
	ctest --test-dir $(BUILD) --output-on-failure -j2

test-asan: asan
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_BUILD) --output-on-failure -j2

# Fuzzes the front end for FUZZ_SECONDS, seeded with every script in the repo.
fuzz: asan
	rm -rf $(ASAN_BUILD)/fuzz-corpus && mkdir -p $(ASAN_BUILD)/fuzz-corpus
	$(SANITIZER_ENV) $(ASAN_BUILD)/tests/fuzz/nabla_parser_fuzzer \
	  -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	  -dict=tests/fuzz/nn.dict $(ASAN_BUILD)/fuzz-corpus examples tests/errors tests/lit/ast

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
