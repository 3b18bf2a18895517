# The front door. `make help` lists the targets; knobs are the variables below.

PYTHON     ?= /usr/bin/python3
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
# harness knobs (empty: the harness defaults)
VARIANTS   ?=
SCENARIOS  ?=
DURATION   ?=
REPEATS    ?=
RUN        ?=
# compare knobs: make compare A=<stamp> B=<stamp> [FAIL_ABOVE=PCT] [HTML=out.html]
A          ?=
B          ?=
FAIL_ABOVE ?=
HTML       ?=
FUZZ_SECONDS ?= 60

# Every Debian package the project needs; `make deps` installs what is missing.
DEB_PACKAGES := \
  g++ make cmake pkg-config libboost1.81-dev libgtest-dev libbenchmark-dev \
  python3 python3-dev pybind11-dev python3-pybind11 python3-cffi python3-pytest \
  python3-pip python3-setuptools python3-wheel \
  python3-matplotlib wrk apache2-utils util-linux procps \
  golang-go python3-flask gunicorn nginx-light \
  python3-uvicorn python3-uvloop python3-httptools uwsgi-core uwsgi-plugin-python3 \
  chromium clang libclang-rt-14-dev python3-django python3-waitress

HARNESS = cd $(CURDIR) && HB_BUILD_DIR=$(abspath $(BUILD_DIR)) HB_PYTHON=$(PYTHON) $(PYTHON) -m harness
harness_opt = $(if $(2),$(1) $(2))
HARNESS_OPTS = $(call harness_opt,--variants,$(VARIANTS)) $(call harness_opt,--scenarios,$(SCENARIOS)) \
  $(call harness_opt,--duration,$(DURATION)) $(call harness_opt,--repeats,$(REPEATS)) \
  $(call harness_opt,--concurrency,$(CONCURRENCY)) $(call harness_opt,--echo-sizes,$(ECHO_SIZES))

.PHONY: help deps build configure test test-cpp test-python bench bench-lol micro plots report compare list verify sanitize tsan fuzz clean

help:
	@echo "make deps       install the Debian packages the project needs (root; idempotent)"
	@echo "make build      configure and build everything into $(BUILD_DIR)/ (runs deps)"
	@echo "make test       build, then run every test suite (ctest and pytest)"
	@echo "make bench      build, verify, load every runnable variant, report and plot"
	@echo "make bench-lol  the reference post's table alone (ab -n 10000 -c 10)"
	@echo "make micro      the Google Benchmark programs: the cost of one boundary crossing"
	@echo "make plots      redraw the plots and report.html of the newest stored run (RUN=stamp)"
	@echo "make report     print the table of the newest stored run (RUN=stamp for another)"
	@echo "make compare    A=stamp B=stamp: what differs and what is noise [FAIL_ABOVE=PCT HTML=out.html]"
	@echo "make list       the variants and whether each can run here"
	@echo "make verify     check what each variant answers (VARIANTS=a,b for some)"
	@echo "make sanitize   build and test with ASan+UBSan in $(BUILD_DIR)-asan/"
	@echo "make tsan       build and run the C++ tests with ThreadSanitizer in $(BUILD_DIR)-tsan/"
	@echo "make fuzz       fuzz the engine's request handling for FUZZ_SECONDS (default 60) with libFuzzer"
	@echo "make clean      remove $(BUILD_DIR)/ (stored results and plots are kept)"
	@echo "knobs: PYTHON=$(PYTHON) BUILD_DIR VARIANTS SCENARIOS DURATION REPEATS CONCURRENCY ECHO_SIZES RUN A B FAIL_ABOVE HTML JOBS CMAKE_ARGS FUZZ_SECONDS"

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make deps: missing Debian packages:" $$missing; \
	    echo "make deps: run as root, or: sudo apt-get install" $$missing; exit 1; \
	  fi; \
	  echo "make deps: installing" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "make deps: apt-get failed"; exit 1; }; \
	fi

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DHB_PYTHON=$(PYTHON) $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@$(MAKE) --no-print-directory test-cpp test-python

test-cpp:
	cd $(BUILD_DIR) && ctest --output-on-failure -j 1

# One pytest run per suite: each folder has its own conftest helpers.
PY_SUITES := $(wildcard bridges/python/tests servers/tests harness/tests)
test-python:
	@status=0; for suite in $(PY_SUITES); do \
	  echo "== pytest $$suite"; \
	  HB_BUILD_DIR=$(abspath $(BUILD_DIR)) HB_PYTHON=$(PYTHON) $(PYTHON) -m pytest -q -p no:cacheprovider -W error $$suite \
	    || status=1; \
	done; exit $$status

bench: build
	$(HARNESS) bench $(HARNESS_OPTS)

bench-lol: build
	$(HARNESS) bench --scenarios lol $(call harness_opt,--variants,$(VARIANTS))

micro: build
	$(HARNESS) micro

plots:
	$(HARNESS) plot $(RUN)

report:
	$(HARNESS) report $(RUN)

compare:
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare A=<stamp> B=<stamp> [FAIL_ABOVE=PCT] [HTML=out.html]"; exit 2; }
	$(HARNESS) compare $(A) $(B) $(call harness_opt,--fail-above,$(FAIL_ABOVE)) $(call harness_opt,--html,$(abspath $(HTML)))

list: build
	$(HARNESS) list

verify: build
	$(HARNESS) verify $(VARIANTS)

# The C++ suites under ASan+UBSan. Python and Go stay out: an instrumented
# extension module would need the sanitizer runtime preloaded into python3.
SANITIZE_ARGS = BUILD_DIR=$(BUILD_DIR)-asan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DHB_SANITIZE=ON -DHB_BUILD_GO=OFF -DHB_BUILD_PYTHON=OFF -DHB_BUILD_BENCH=OFF"
sanitize:
	@$(MAKE) --no-print-directory build $(SANITIZE_ARGS)
	@$(MAKE) --no-print-directory test-cpp $(SANITIZE_ARGS)

# The C++ suites (handle table, engine, C ABI) under ThreadSanitizer.
TSAN_ARGS = BUILD_DIR=$(BUILD_DIR)-tsan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DHB_TSAN=ON -DHB_BUILD_GO=OFF -DHB_BUILD_PYTHON=OFF -DHB_BUILD_BENCH=OFF"
tsan:
	@$(MAKE) --no-print-directory build $(TSAN_ARGS)
	@$(MAKE) --no-print-directory test-cpp $(TSAN_ARGS)

# libFuzzer (clang) with ASan+UBSan over the engine's request handling, for
# FUZZ_SECONDS. New inputs go to $(BUILD_DIR)-fuzz/corpus, crashes beside it;
# the committed seeds in bridges/httpbridge/fuzz/corpus are read, never written
# (make test replays them: ctest fuzz.RequestCorpusReplays).
FUZZ_DIR = $(BUILD_DIR)-fuzz
FUZZ_SRC = bridges/httpbridge/fuzz
fuzz: deps
	@cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DHB_FUZZ=ON -DHB_BUILD_TESTS=OFF -DHB_BUILD_PYTHON=OFF -DHB_BUILD_GO=OFF -DHB_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_request
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(FUZZ_DIR)/bridges/httpbridge/fuzz/fuzz_request -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -dict=$(FUZZ_SRC)/http.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/ -print_final_stats=1 \
	  $(FUZZ_DIR)/corpus $(FUZZ_SRC)/corpus

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-asan $(BUILD_DIR)-tsan $(BUILD_DIR)-fuzz
