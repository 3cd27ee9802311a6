# Everything a newcomer needs: `make run` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SHARED ?= ../shared

.DEFAULT_GOAL := help
.PHONY: help setup run test lint typecheck check-rules test-rules bench bench-ingest clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) ## create .venv and install the project with its dev tools

run: setup ## set up, then run the API, a worker and the scheduler with demo data (Ctrl-C stops)
	$(BIN)/triage run

test: setup ## run the whole test suite, lint and type checks included
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: setup ## ruff lint and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: setup ## mypy (strict for triage/ and fhir_adapters/)
	$(BIN)/mypy

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

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
