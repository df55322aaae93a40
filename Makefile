# accumbench — two commands on a fresh machine:
#   make bench   runs the sweep (PROFILE=default; PROFILE=quick for CI) and writes reports/
#   make test    runs the tests
# Both create .venv, install the project, and install Debian's Fashion-MNIST and fortunes
# (real text) when they can.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PROFILE ?= default
NAME    := $(basename $(notdir $(PROFILE)))
RESULTS ?= results/$(NAME).jsonl
# one baseline per machine identity in this folder; the check uses the current machine's
BASELINE ?= bench/baselines/$(NAME)/
# a baseline is the envelope of several clean runs (their spread is allowed, README: Regression check)
BASELINE_RUNS ?= $(RESULTS)
REPORTS ?= $(if $(filter default,$(NAME)),reports,reports/$(NAME))
# the default and study profiles' reports also refresh their summaries in README.md (between
# their markers)
SUMMARY ?= $(if $(filter default study,$(NAME)),--summary README.md,)
# the study continues from its committed records (hours of training; outcomes do not depend on
# the machine), on a fresh clone too
RESUME ?= $(if $(filter study,$(NAME)),--resume-from reports/study/results.jsonl.gz,)
# the study's advice carries the default profile's levels 1-2, memory and speed
LEVELS ?= $(if $(filter study,$(NAME)),--levels-from reports/results.jsonl.gz,)
PYTEST_ARGS ?=
# the README's time table is rendered from this record: `make test`, `make bench` (not a resumed
# study) and CI add their wall time and machine identity to it (bench.results.timings)
TIMINGS ?= reports/timings.json
# $(call timed,COMMAND,NAME,ARGS): run COMMAND, record its time under NAME, keep its exit status
timed = start=$$(date +%s); $(1); rc=$$?; $(BIN)/python -m bench timings add --command "$(2)" \
  --args "$(3)" --seconds $$(( $$(date +%s) - start )) --status $$rc --record $(TIMINGS) \
  --summary README.md || true; exit $$rc
FASHION := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
FORTUNES := /usr/share/games/fortunes/fortunes

.PHONY: help setup setup-backends data test bench bench-backends bench-report bench-check bench-overhead baseline catalogue clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

setup: $(VENV)/.installed data  ## create .venv, install the project and the offline data set

# the backend lane's frameworks, the project's `backends` extra (JAX, torch's CPU build)
TORCH_INDEX ?=
$(VENV)/.backends: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[backends]" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	touch $@

setup-backends: $(VENV)/.backends  ## install JAX and PyTorch (CPU) for the backend lane (README: Backends)

data:  ## install Debian's dataset-fashion-mnist and fortunes (real images and text, offline) if possible
	@missing=""; \
	[ -f $(FASHION) ] || missing="$$missing dataset-fashion-mnist"; \
	[ -f $(FORTUNES) ] || missing="$$missing fortunes"; \
	if [ -z "$$missing" ]; then \
	  echo "data: Fashion-MNIST and fortunes present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "data: installing Debian's$$missing"; \
	  (apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null)) || \
	   echo "data: apt-get failed; runs fall back to data sets you provide (see README)"; \
	else \
	  echo "data: not installed:$$missing. As root run 'apt-get install$$missing', or put the"; \
	  echo "  files in DIR/fashion-mnist/ and DIR/fortunes/ and set ACCUMBENCH_DATA_DIR=DIR (see README)."; \
	fi

test: setup  ## run the tests (unit, end-to-end on tiny data; no sweep), two at a time
	$(call timed,$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS),make test,$(PYTEST_ARGS))

SWEEP = $(BIN)/python -m bench sweep --profile $(PROFILE) --results $(RESULTS) --report $(REPORTS) \
  $(SUMMARY) $(RESUME) $(LEVELS) -- --benchmark-json results/$(NAME).benchmark.json $(PYTEST_ARGS)

bench: setup  ## run the sweep of PROFILE (default) and write its report; resumes if interrupted
	$(if $(RESUME),$(SWEEP),$(call timed,$(SWEEP),make bench,PROFILE=$(PROFILE) $(PYTEST_ARGS)))

bench-backends: setup setup-backends  ## levels 1-2, memory and speed on JAX and PyTorch -> reports/backends (resumes)
	$(call timed,$(BIN)/python -m bench backends --summary README.md,make bench-backends,)

bench-report: setup  ## rebuild the report of PROFILE from its stored results (never trains)
	$(BIN)/python -m bench report --results $(RESULTS) --out $(REPORTS) $(SUMMARY) $(LEVELS)

bench-overhead: setup  ## accumulation overhead (ratios, one process) and repeatability -> results/
	$(BIN)/python -m pytest tests/test_studies.py tests/benchmarks -m study -q --benchmark-json results/studies.benchmark.json
	$(BIN)/python -m bench studies results/overhead.json results/repeatability.json
	cp results/overhead.json reports/overhead.json  # the README quotes the committed study
	$(BIN)/python -m bench readme

bench-check: setup  ## compare the last sweep of PROFILE with its committed baseline
	$(BIN)/python -m bench check --baseline $(BASELINE) --current $(RESULTS)

baseline: setup  ## write the sweeps in BASELINE_RUNS (default: PROFILE's last) as this machine's baseline
	$(BIN)/python -m bench check --current $(BASELINE_RUNS) --write-baseline $(BASELINE)

catalogue: setup  ## install published accumulation code (pinned, into .catalogue/) and judge it -> reports/catalogue
	$(BIN)/python -m bench catalogue --out reports/catalogue --summary README.md

clean:  ## remove .venv, results/ and the reports of uncommitted profiles (reports/quick)
	rm -rf $(VENV) results .benchmarks reports/quick .catalogue
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
