# gpufleet: the two entry points of README.md, plus a few conveniences.
#   make demo   installs what is missing, builds (release), runs `gpufleetd demo`: a controller and
#               a simulated cluster in the foreground (Ctrl-C stops it)
#   make showcase  the offline tour: catalog, compat and planner on the seed's cluster
#   make test   installs what is missing, builds (dev: ASan+UBSan, -Werror), runs every test
PRESET ?= dev
GPUFLEET := build/release/src/cmd/gpufleet/gpufleet
GPUFLEETD := build/release/src/cmd/gpufleetd/gpufleetd
DEMO_FLAGS ?=

.PHONY: all deps configure build test test-tsan demo showcase fuzz bench format clean

all: build

deps:
	scripts/install-deps

configure: deps
	cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

test: deps
	cmake --preset dev
	cmake --build --preset dev
	ctest --preset dev

demo: deps
	cmake --preset release
	cmake --build --preset release --target gpufleetd gpufleet
	$(GPUFLEETD) demo $(DEMO_FLAGS)

showcase: deps
	cmake --preset release
	cmake --build --preset release --target gpufleet
	scripts/demo $(GPUFLEET)

# ThreadSanitizer build of the service tests (those labelled `threads`: controller, store, api,
# agent), run with TSAN_OPTIONS from CMakePresets.json. Not part of `make test` (CI's budget).
test-tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan

# Builds the libFuzzer targets with clang-14 (see tests/fuzz/README.md).
fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz

# Builds the bench preset and prints the planner benchmark table (docs/performance.md).
bench: deps
	cmake --preset bench
	cmake --build --preset bench --target planner_bench
	build/bench/bench/planner_bench

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build
