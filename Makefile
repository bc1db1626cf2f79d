# kinspect: developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export KINSPECT_CACHE ?= $(HOME)/.cache/kinspect

.PHONY: e2e-soak same-output netpol-diff netpol-diff-ci tools tmux bench-ui pictures-check venv lint unit unit-O fuzz test e2e e2e-context testbed cluster-up cluster-down demo bench bench-small bench-diff bench-watch clean dist dist-check

$(BIN)/kinspect: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/kinspect

# ruff, mypy strict, the import contracts, and the tree's own check (dev/check_tree.py): no
# tracked *.orig/*.rej/*~ leftover, no module that no import reaches from the entry points.
lint: venv
	$(BIN)/ruff check kinspect tests bench dev
	$(BIN)/ruff format --check kinspect tests bench dev
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python dev/check_tree.py

# The quick loop: every test that needs no cluster (seconds, no Go build), with the CLI's
# in-process coverage, which must stay at 80% or more.
unit: venv tmux
	$(BIN)/pytest -m "not e2e and not dist" --cov=kinspect.cli --cov=kinspect.commands --cov-report=term \
	  --cov-fail-under=80

# The unit suite once more under `python -O`, which strips `assert`: the package must not use
# asserts as validation (pytest still rewrites the tests' own asserts, so they keep checking).
unit-O: venv tmux
	$(BIN)/python -O -m pytest -m "not e2e" -q -p no:cacheprovider \
	  -W "ignore:assertions not in test modules:pytest.PytestConfigWarning"

# The property tests with many more examples than CI's ~100 per test (minutes, not seconds).
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/unit/test_properties.py -q -p no:cacheprovider

e2e: venv
	$(BIN)/pytest -m e2e

# The e2e suite once more, as on a cluster that is not the test bed (kind, a cloud): through
# KINSPECT_E2E_CONTEXT and a copy of the test bed's kubeconfig (certificates embedded, names
# unchanged) in a temporary directory, so no test can reach the test bed's own files (the
# conftest asserts the kubeconfig is not under $(KINSPECT_CACHE)). kubectl comes from PATH in
# that mode: the test bed's. Skipped when KINSPECT_E2E_CONTEXT is already set (the main run was
# already through a context).
e2e-context: venv
	@if [ -n "$$KINSPECT_E2E_CONTEXT" ]; then \
	  echo "e2e-context: skipped: KINSPECT_E2E_CONTEXT is set, the e2e run already used it"; \
	  exit 0; \
	fi; \
	set -euo pipefail; \
	export PATH="$(KINSPECT_CACHE)/bin/current:$$PATH"; \
	testbed_kc=$$(testbed/cluster.sh up | tail -n 1); \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	KUBECONFIG="$$testbed_kc" kubectl config view --raw --flatten > "$$tmp/kubeconfig"; \
	export KUBECONFIG="$$tmp/kubeconfig"; \
	export KINSPECT_E2E_CONTEXT=$$(kubectl config current-context); \
	echo "e2e-context: KINSPECT_E2E_CONTEXT=$$KINSPECT_E2E_CONTEXT KUBECONFIG=$$KUBECONFIG"; \
	$(BIN)/pytest -m e2e

# Not in CI (about 7 min a round): the e2e suite ROUNDS times (default 5) back to back on one
# test bed that is never restarted, each round plainly and then through a copied context; every
# run goes on after a failure, and the summary prints each run's pytest line (dev/e2e_soak.sh).
e2e-soak: venv
	dev/e2e_soak.sh $(ROUNDS)

# The whole suite: lint, the benchmark at small scale (proves its scripts work; asserts no
# time), then unit tests (also under python -O) and the e2e tests against a real API server
# (the test bed, built and started on demand, or KINSPECT_E2E_CONTEXT), and again through a
# kubeconfig context alone (e2e-context). The e2e runs are last so their summary closes the log.
test: lint bench-small unit unit-O netpol-diff-ci pictures-check dist-check e2e e2e-context

testbed:
	testbed/build.sh

# A refactor proves it changed nothing: every command and format run with the tree at BASE (a git
# worktree) and with this one against the same test bed, outputs compared after timestamps are
# normalised (dev/same_output.py; outputs kept in .same-output/). Not in CI: it needs a BASE.
same-output: venv testbed
	@if [ -z "$(BASE)" ]; then echo "same-output: say which revision to compare with: make same-output BASE=REV"; exit 2; fi
	$(BIN)/python dev/same_output.py --base $(BASE)

cluster-up: testbed
	testbed/cluster.sh up

cluster-down:
	testbed/cluster.sh down

demo: venv testbed
	examples/demo.sh

# watch_apply's 100,000 flips (200,000 events) are an hour of a busy 100k-pod cluster replayed
# fast: every pod's readiness changing once (a rolling restart of everything), 56 events a second.
bench: venv testbed
	bench/run.sh
	$(BIN)/python bench/watch_apply.py --pods 10000 100000 --flips 100000

# --watch's per-event cost, in-process on a synthetic snapshot (no cluster; figures only).
bench-watch: venv
	$(BIN)/python bench/watch_apply.py --pods 10000 100000 --flips 2000

# kinspect ui: open time and key-to-repaint latency on 10k pods (DEMO=FILE: also the demo's
# open time, from `kinspect snapshot save FILE -n demo` after `make demo`).
bench-ui: venv tmux
	$(BIN)/python bench/ui.py $(if $(DEMO),--demo $(DEMO))

# CI's proof that the benchmark scripts work (a few thousand pods, one run; no time asserted).
# watch_apply and bench/ui.py need no cluster: they run even through KINSPECT_E2E_CONTEXT.
bench-small: venv tmux
	$(BIN)/python bench/watch_apply.py --pods 3000 --flips 200
	$(BIN)/python bench/ui.py --pods 2000 --runs 5
	@if [ -n "$$KINSPECT_E2E_CONTEXT" ]; then \
	  echo "bench-small: skipped: it measures the test bed, and KINSPECT_E2E_CONTEXT is set"; \
	else BENCH_SMALL=1 bench/run.sh; fi
	$(BIN)/python bench/diff.py 3000

# `kinspect diff` of two synthetic 100k-pod snapshots, in-process (no cluster): prints the times.
bench-diff: venv
	$(BIN)/python bench/diff.py 100000

# NetworkPolicy verdicts against cyclonus (testbed/cyclonus.sh builds it once, cached):
# CI runs a few hundred cases (tests/netpol), netpol-diff many thousands (NETPOL_SEED=N to vary).
netpol-diff-ci: venv
	$(BIN)/pytest -q -m netpol tests/netpol

netpol-diff: venv
	$(BIN)/python -m tests.netpol.diff --worlds 2500 --queries 20

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

VERSION = $(shell $(PY) -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")

# The wheel and sdist (no build warnings allowed), their metadata checked by twine, and the
# krew archive: a self-contained zipapp named kubectl-kinspect (shiv) with LICENSE, plus
# dist/kinspect.yaml, plugins/kinspect.yaml with that archive's sha256.
dist: venv
	rm -rf dist build && mkdir -p dist
	# (PYTHONDONTWRITEBYTECODE would make setuptools warn that it skips byte-compiling.)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m build --outdir dist . > dist/build.log 2>&1 || { cat dist/build.log; exit 1; }
	@if grep -i "warning" dist/build.log; then echo "dist: the build warned (dist/build.log)"; exit 1; fi
	$(BIN)/twine check --strict dist/*.whl dist/*.tar.gz
	mkdir -p dist/krew && cp LICENSE dist/krew/
	$(BIN)/shiv -q --compressed -p '/usr/bin/env python3.11' -c kinspect \
	  -o dist/krew/kubectl-kinspect dist/kinspect-$(VERSION)-py3-none-any.whl
	tar -C dist/krew -czf dist/kubectl-kinspect-$(VERSION).tar.gz kubectl-kinspect LICENSE
	sed 's/sha256: .*/sha256: "'"$$(sha256sum dist/kubectl-kinspect-$(VERSION).tar.gz | cut -d' ' -f1)"'"/' \
	  plugins/kinspect.yaml > dist/kinspect.yaml

# CI's proof that the packages work: a fresh venv installs the wheel and runs both scripts;
# the zipapp runs on its own; the krew archive and manifest hold together.
dist-check: dist
	rm -rf dist/venv && $(PY) -m venv dist/venv
	dist/venv/bin/pip install -q dist/kinspect-$(VERSION)-py3-none-any.whl
	dist/venv/bin/kinspect --version
	dist/venv/bin/kubectl-kinspect --version
	SHIV_ROOT=dist/shiv dist/krew/kubectl-kinspect --version
	$(BIN)/pytest -q -m dist tests/packaging

# The ui's smoke test runs the real binary in tmux (tests/unit/test_ui_tmux.py; in CI it fails
# without tmux rather than skip). Debian's tmux; CI machines run as root.
tmux:
	@command -v tmux >/dev/null || { apt-get install -y -q tmux >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q tmux >/dev/null; }; }
	@tmux -V

# What the picture checks need: Graphviz (Debian's graphviz; CI machines run as root) and the
# mermaid parser with jsdom from npm, pinned by tests/tools/package-lock.json.
tools:
	@command -v dot >/dev/null || { apt-get install -y -q graphviz >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q graphviz >/dev/null; }; }
	@dot -V
	cd tests/tools && npm ci --no-audit --no-fund --loglevel=error

# The DOT and Mermaid outputs parse in the real tools (and broken ones do not).
pictures-check: venv tools
	$(BIN)/pytest -q -m tools tests/tools
