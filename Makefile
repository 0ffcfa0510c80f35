# soap: thin wrapper around CMake. `make demo` runs the main job, `make test` the tests.
BUILD      ?= build
CMAKE_FLAGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
SOAP        = $(BUILD)/soap

.PHONY: all deps configure build test test-sanitize demo bench experiments clean

all: build

deps:
	@bash scripts/install-deps.sh

configure:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null || cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: deps build
	ctest --test-dir $(BUILD) -L cpu --output-on-failure -j $(JOBS)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-sanitize: deps
	$(MAKE) test BUILD=build-sanitize CMAKE_FLAGS="$(CMAKE_FLAGS) -DSOAP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

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
	rm -rf $(BUILD) build-sanitize build-bench
