# Entry points. `make test` is what CI runs.
JOBS ?= $(shell nproc)
RUN_DIR ?= $(CURDIR)/build/run

.PHONY: deps web build test test-default test-asan run bench clean format screenshots

# Debian packages, and the dashboard's npm packages (npm ci when node_modules is missing or older
# than the lock file): everything is installed here, nothing is downloaded while building or testing.
deps:
	./scripts/deps.sh
	$(MAKE) --no-print-directory web/node_modules/.package-lock.json

build: deps web
	cmake --preset default >/dev/null
	cmake --build --preset default -j $(JOBS)

# The web dashboard: a production build into web/dist, which the cmake build compiles into
# oakestra.
web: deps
	cd web && npm run build --silent

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

# Every test, in the default build and again under AddressSanitizer + UBSan.
test: test-default test-asan

test-default: build
	ctest --preset default -j $(JOBS)

test-asan: deps web
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# For now the root orchestrator alone, with state under build/run.
run: build
	build/bin/oakestra up --data-dir $(RUN_DIR)

bench: build
	./bench/root_api.sh

# Screenshots of every page, taken by the browser test, into docs/screenshots/.
screenshots: build
	OAK_WEB_SCREENSHOTS=$(CURDIR)/docs/screenshots ctest --preset default -R WebDashboardTest

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan
