# soap: thin wrapper around CMake. `make demo` runs the main job, `make test` the tests.
BUILD      ?= build
CMAKE_FLAGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
SOAP        = $(BUILD)/soap
FUZZ_SECONDS ?= 60

.PHONY: all deps configure build test test-sanitize fuzz demo bench experiments clean

all: build

deps:
	@bash scripts/install-deps.sh

# CMake's output goes to $(BUILD)/configure.log; shown: its "soap:" summary
# (what this build finds and builds) and its warnings, or all of it if it fails.
configure:
	@mkdir -p $(BUILD)
	@if cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >$(BUILD)/configure.log 2>&1; then \
	  awk '/^-- soap: /{print substr($$0, 4)} w && /^$$/{w=0} /^CMake Warning/{w=1} w' \
	    $(BUILD)/configure.log; \
	else cat $(BUILD)/configure.log; exit 1; fi

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: deps build
	ctest --test-dir $(BUILD) -L cpu --output-on-failure -j $(JOBS)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-sanitize: deps
	$(MAKE) test BUILD=build-sanitize CMAKE_FLAGS="$(CMAKE_FLAGS) -DSOAP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

# libFuzzer targets of the file loaders (tests/fuzz/), built with clang in
# build-fuzz/, FUZZ_SECONDS seconds each; fails on any crash.
fuzz: deps
	@$(MAKE) --no-print-directory configure BUILD=build-fuzz CMAKE_FLAGS="$(CMAKE_FLAGS) -DCMAKE_C_COMPILER=clang -DSOAP_FUZZ=ON"
	@cmake --build build-fuzz -j $(JOBS) --target soap_fuzzers
	@bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

demo: deps build
	@bash scripts/demo.sh $(SOAP)

# Benchmarks (timings, not tests): a Release build in build-bench/.
bench: deps
	@$(MAKE) build BUILD=build-bench CMAKE_FLAGS="$(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Release"
	@bash scripts/bench.sh build-bench

# The paper's experiments that exist so far (minutes): CSV under experiments/results/.
experiments: deps build
	@bash experiments/validate_cpu.sh $(SOAP)
	@bash experiments/search_speedups.sh $(SOAP)

clean:
	rm -rf $(BUILD) build-sanitize build-bench build-fuzz
