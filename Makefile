# The two commands (README): `make run` and `make test`. Both install what is missing from Debian and
# npm first (idempotent: a second run installs nothing), then build with CMake.
#   make run    — build and start `simhost serve` on http://127.0.0.1:8080/live with the default asset DB
#   make test   — build, check formatting, run every test (ctest), then the specs again under ASan+UBSan,
#                 then each libFuzzer target for FUZZ_SECONDS (fuzz-smoke)
#   make fuzz   — build the libFuzzer targets (spec/fuzz/) with clang in $(BUILD_FUZZ)
#   make module-graph — redraw docs/module-graph.md from the #include lines; fails on an edge that points
#                  the wrong way (docs/modules.md). `make test` runs the same check (spec/modules_spec.lua).
#   make run-cluster — build and start three hosts behind HAProxy on http://127.0.0.1:8080/live (docs/deploy.md)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
# Each fuzz target runs this long in fuzz-smoke: 9 targets x 30 s, JOBS at a time, bound the smoke to
# ~2.5 minutes on 2 cores.
FUZZ_SECONDS ?= 30
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian 12 packages the build, the tests and the live view need.
DEB_PACKAGES := build-essential cmake pkg-config git lua5.4 liblua5.4-dev lua-cjson lua-busted \
	lua-socket libwebsockets-dev libcglm-dev libsqlite3-dev zlib1g-dev sqlite3 libreadline-dev luarocks \
	clang-format chromium chromium-driver haproxy clang-14 libclang-rt-14-dev

.PHONY: all deps build run test test-normal test-asan fuzz fuzz-smoke screenshot format format-check module-graph run-cluster clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi
	@if [ -f package.json ]; then \
	  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	    echo "deps: npm ci"; npm ci --no-audit --no-fund; \
	  else echo "deps: npm packages present"; fi; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/simhost serve

run-cluster: build
	./$(BUILD)/simhost cluster

test: build
	$(MAKE) --no-print-directory format-check test-normal test-asan fuzz-smoke

test-normal:
	ctest --test-dir $(BUILD) --output-on-failure -j 1

# Same specs on an AddressSanitizer + UBSan build; leaks fail the run (LSan); plus the 1000-step
# convex_pile memory check. Optimised (-O2 -g) with SH_DEBUG asserts on: the sanitizers instrument at
# every level, and at -O0 the pile alone would take ~20 minutes.
test-asan:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSH_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ctest --test-dir $(BUILD_ASAN) --output-on-failure -L spec -j 1

# libFuzzer targets (spec/fuzz/README.md): clang, ASan + UBSan, a build dir of their own.
fuzz: deps
	CC=clang-14 cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSH_FUZZ=ON
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_targets

# Each target for FUZZ_SECONDS from its seed corpus (read-only; new inputs go to $(BUILD_FUZZ)/corpus).
# A crash, leak or sanitizer report fails the run and leaves the input in $(BUILD_FUZZ)/crashes/.
# One target per core at a time (JOBS): the rest of `make test` runs one test at a time, so on a quiet
# 2-core machine each fuzzer still has a core to itself, and 9 x 30 s take ~2.5 minutes instead of 4.5.
fuzz-smoke: fuzz
	@ls spec/fuzz/ | sed -n 's/^\(fuzz_.*\)\.c$$/\1/p' | \
	  xargs -P $(JOBS) -n 1 spec/fuzz/smoke.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) || \
	  { echo "fuzz-smoke: a target failed (above; its input is in $(BUILD_FUZZ)/crashes/)"; exit 1; }

# Refreshes the README's picture from a real run (the e2e test otherwise writes it into the build tree).
screenshot: build
	SIMHOST_SCREENSHOT=$(CURDIR)/docs/live-view.png ctest --test-dir $(BUILD) -R e2e.live_view --output-on-failure
	SIMHOST_REPLAY_SCREENSHOT=$(CURDIR)/docs/replay-view.png ctest --test-dir $(BUILD) -R e2e.replay_view --output-on-failure

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

module-graph:
	lua5.4 spec/support/module_graph.lua . docs/module-graph.md

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
