# Everything a newcomer needs: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SHARED ?= ../shared
NPM_STAMP := node_modules/.installed
CHART := api/web/static/vendor/chart.umd.js
BROWSER_PKGS := chromium chromium-driver

.DEFAULT_GOAL := help
.PHONY: help setup assets browser run test test-safety test-faults test-abuse lint typecheck check-rules test-rules bench \
	bench-ingest bench-e2e bench-job bench-burst bench-web bench-soak bench-stats bench-history bench-replay bench-tasks bench-form clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) ## create .venv and install the project with its dev tools

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(CHART): $(NPM_STAMP)
	@mkdir -p $(@D)
	cp node_modules/chart.js/dist/chart.umd.js $@

assets: ## front-end packages from npm (npm ci) and Chart.js into api/web/static/vendor/
	@if ! command -v npm >/dev/null; then \
		echo "npm not found: no Chart.js, the pages show readings as tables instead of charts"; \
	elif ! $(MAKE) --no-print-directory $(CHART); then \
		echo "npm ci failed: no Chart.js, the pages show readings as tables instead of charts"; fi

browser: ## Debian's chromium and chromium-driver for the browser tests (installs them as root)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(BROWSER_PKGS) with apt-get (about 20 s on a fast mirror)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q $(BROWSER_PKGS) >/dev/null \
		|| (apt-get update -q >/dev/null && apt-get install -y -q $(BROWSER_PKGS) >/dev/null); \
	else echo "chromium or chromedriver missing: sudo apt-get install $(BROWSER_PKGS)" \
		"(the browser tests fail without them)"; fi

run: setup assets ## set up, then run the API, a worker and the scheduler with demo data (Ctrl-C stops)
	$(BIN)/triage run

test: setup assets browser ## run the whole test suite, lint, type and layer checks included
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

test-safety: setup ## the attack suite and a long run of the safety property test, both backends
	$(BIN)/pytest tests/safety -q -p no:randomly
	SAFETY_EXAMPLES=150 SAFETY_STEPS=30 $(BIN)/pytest tests/model -q -p no:randomly

test-faults: setup ## the fault suite on its own PostgreSQL, Redis and workers; prints lost/doubled
	$(BIN)/pytest tests/faults -p no:randomly -q

test-abuse: setup ## schemathesis, FHIR fuzzing and the authorization matrix (PostgreSQL + Redis)
	$(BIN)/pytest tests/abuse -q

lint: setup ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: setup ## mypy (strict) over every package, and the import-linter layer contracts
	$(BIN)/mypy
	$(BIN)/lint-imports

check-rules: setup ## check every pathway file in rules/ and the contract
	$(BIN)/triage rules check rules/*.yaml $(wildcard $(SHARED)/contract/pathways/*.yaml)

test-rules: setup ## run the embedded tests of every pathway file
	$(BIN)/triage rules test rules/*.yaml $(wildcard $(SHARED)/contract/pathways/*.yaml)

bench: setup ## print the engine's speed figures (see BENCHMARKS.md)
	$(BIN)/python bench/engine.py

bench-ingest: setup ## ingest speed on PostgreSQL + Redis + a worker (installs wrk if it can)
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& (apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q >/dev/null \
		&& apt-get install -y -q wrk >/dev/null))) || echo "wrk not installed: Python client only"
	$(BIN)/python bench/ingest.py

WRK_INSTALL = command -v wrk >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& (apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q >/dev/null \
		&& apt-get install -y -q wrk >/dev/null))) || echo "wrk not installed: Python client only"

E2E_ARGS ?=
bench-e2e: setup ## POST -> worklist under load: open-loop rate sweep, CPU per upload, bursts, memory (PostgreSQL + Redis)
	@$(WRK_INSTALL)
	$(BIN)/python bench/e2e.py $(E2E_ARGS)

bench-job: setup ## one judging job in process: wall time, CPU, statements and round trips (PostgreSQL)
	$(BIN)/python bench/job.py

bench-burst: setup ## the worker judging a 288-reading CGM Bundle, each as of its own time (PostgreSQL)
	$(BIN)/python bench/burst.py

bench-stats: setup ## statistics of one pathway over 12 months: 1,000,000 results, 200,000 items (PostgreSQL)
	$(BIN)/python bench/stats.py

bench-tasks: setup ## the day's form tasks for 100,000 enrolled patients (PostgreSQL; target < 30 s)
	$(BIN)/python bench/tasks.py

bench-replay: setup ## a draft heart-failure file replayed on 100,000 stored uploads, worklist p95 meanwhile (PostgreSQL)
	$(BIN)/python bench/replay.py

bench-history: setup ## the demo history (make run's year of follow-up) written on SQLite and PostgreSQL, timed
	$(BIN)/python bench/history.py

bench-form: setup ## the patient form's page for a 30-item questionnaire, rendered on the server (target < 200 ms)
	$(BIN)/python bench/form.py

bench-web: setup assets browser ## the worklist with 500 open items rendered in headless Chromium
	$(BIN)/python bench/web.py

SOAK_MINUTES ?= 20
bench-soak: setup ## steady load with worker restarts (SOAK_MINUTES, at most 30); writes BENCHMARKS.md
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES) --write BENCHMARKS.md

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis node_modules test-artifacts
