# kinspect: developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export KINSPECT_CACHE ?= $(HOME)/.cache/kinspect

.PHONY: venv lint unit unit-O fuzz test e2e testbed cluster-up cluster-down demo bench bench-small clean

$(BIN)/kinspect: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/kinspect

lint: venv
	$(BIN)/ruff check kinspect tests bench
	$(BIN)/ruff format --check kinspect tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The quick loop: every test that needs no cluster (seconds, no Go build), with the CLI's
# in-process coverage, which must stay at 80% or more.
unit: venv
	$(BIN)/pytest -m "not e2e" --cov=kinspect.cli --cov=kinspect.commands --cov-report=term \
	  --cov-fail-under=80

# The unit suite once more under `python -O`, which strips `assert`: the package must not use
# asserts as validation (pytest still rewrites the tests' own asserts, so they keep checking).
unit-O: venv
	$(BIN)/python -O -m pytest -m "not e2e" -q -p no:cacheprovider \
	  -W "ignore:assertions not in test modules:pytest.PytestConfigWarning"

# The property tests with many more examples than CI's ~100 per test (minutes, not seconds).
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/unit/test_properties.py -q -p no:cacheprovider

e2e: venv
	$(BIN)/pytest -m e2e

# The whole suite: lint, the benchmark at small scale (proves its scripts work; asserts no
# time), then unit tests (also under python -O) and the e2e tests against a real API server
# (the test bed, built and started on demand, or KINSPECT_E2E_CONTEXT). The e2e run is last so
# its summary closes the log.
test: lint bench-small unit unit-O e2e

testbed:
	testbed/build.sh

cluster-up: testbed
	testbed/cluster.sh up

cluster-down:
	testbed/cluster.sh down

demo: venv testbed
	examples/demo.sh

bench: venv testbed
	bench/run.sh

# CI's proof that the benchmark scripts work (a few thousand pods, one run; no time asserted).
bench-small: venv
	@if [ -n "$$KINSPECT_E2E_CONTEXT" ]; then \
	  echo "bench-small: skipped: it measures the test bed, and KINSPECT_E2E_CONTEXT is set"; \
	else BENCH_SMALL=1 bench/run.sh; fi

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
