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

# Every Debian package the project needs; `make deps` installs what is missing.
DEB_PACKAGES := \
  g++ make cmake pkg-config libboost1.81-dev libgtest-dev libbenchmark-dev \
  python3 python3-dev pybind11-dev python3-pybind11 python3-cffi python3-pytest \
  python3-matplotlib wrk apache2-utils util-linux procps \
  golang-go python3-flask gunicorn nginx-light \
  python3-uvicorn python3-uvloop python3-httptools uwsgi-core uwsgi-plugin-python3 \
  python3-django python3-waitress

HARNESS = cd $(CURDIR) && HB_BUILD_DIR=$(abspath $(BUILD_DIR)) HB_PYTHON=$(PYTHON) $(PYTHON) -m harness
harness_opt = $(if $(2),$(1) $(2))
HARNESS_OPTS = $(call harness_opt,--variants,$(VARIANTS)) $(call harness_opt,--scenarios,$(SCENARIOS)) \
  $(call harness_opt,--duration,$(DURATION)) $(call harness_opt,--repeats,$(REPEATS))

.PHONY: help deps build configure test test-cpp test-python bench bench-lol micro plots report list verify sanitize clean

help:
	@echo "make deps       install the Debian packages the project needs (root; idempotent)"
	@echo "make build      configure and build everything into $(BUILD_DIR)/ (runs deps)"
	@echo "make test       build, then run every test suite (ctest and pytest)"
	@echo "make bench      build, verify, load every runnable variant, report and plot"
	@echo "make bench-lol  the reference post's table alone (ab -n 10000 -c 10)"
	@echo "make micro      the Google Benchmark programs: the cost of one boundary crossing"
	@echo "make plots      redraw the plots of the newest stored run (RUN=stamp for another)"
	@echo "make report     print the table of the newest stored run (RUN=stamp for another)"
	@echo "make list       the variants and whether each can run here"
	@echo "make verify     check what each variant answers (VARIANTS=a,b for some)"
	@echo "make sanitize   build and test with ASan+UBSan in $(BUILD_DIR)-asan/"
	@echo "make clean      remove $(BUILD_DIR)/ (stored results and plots are kept)"
	@echo "knobs: PYTHON=$(PYTHON) BUILD_DIR VARIANTS SCENARIOS DURATION REPEATS RUN JOBS CMAKE_ARGS"

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

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR)-asan
