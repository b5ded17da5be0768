# Entry points. `make test` is what CI runs.
PRESET ?= default
BUILD_DIR := $(if $(filter asan,$(PRESET)),build-asan,build)
JOBS ?= $(shell nproc)
RUN_DIR ?= $(CURDIR)/build/run

.PHONY: deps build test run bench clean format

deps:
	./scripts/deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

test: build
	ctest --preset $(PRESET) -j $(JOBS)

# For now the root orchestrator alone, with state under build/run.
run: build
	$(BUILD_DIR)/bin/oakestra root --listen 0.0.0.0:10000 --data-dir $(RUN_DIR)/root

bench: build
	./bench/root_api.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan
