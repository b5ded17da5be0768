# Entry points. `make test` is what CI runs.
JOBS ?= $(shell nproc)
RUN_DIR ?= $(CURDIR)/build/run

.PHONY: deps build test test-default test-asan run bench clean format

deps:
	./scripts/deps.sh

build: deps
	cmake --preset default >/dev/null
	cmake --build --preset default -j $(JOBS)

# Every test, in the default build and again under AddressSanitizer + UBSan.
test: test-default test-asan

test-default: build
	ctest --preset default -j $(JOBS)

test-asan: deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# For now the root orchestrator alone, with state under build/run.
run: build
	build/bin/oakestra up --data-dir $(RUN_DIR)

bench: build
	./bench/root_api.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan
