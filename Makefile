# imgmatch: `make` (or `make help`) lists the targets. Two commands on a fresh machine:
#   make report   build the environment (first run) and write the demo cohort's reports
#   make test     build the environment with test tools (first run) and run every test
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROGRAMS ?= data/demo/programs.csv
APPLICANTS ?= data/demo/applicants
OUT ?= reports
PYTEST_ARGS ?=

.PHONY: help setup setup-dev report test test-fast lint format bench lab demo-data clean

help: ## Show this help
	@echo "imgmatch: residency planning for international medical graduates"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-11s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: PROGRAMS=$(PROGRAMS) APPLICANTS=$(APPLICANTS) OUT=$(OUT) PYTHON=$(PYTHON)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "imgmatch needs Python 3.11 or newer; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11")'
	@echo "Creating the environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps re-run the install only when pyproject.toml changes. pip is not quiet here: the
# first install downloads and builds for several minutes, and its lines show it is working.
INSTALLING = @echo "Installing imgmatch$(1) and its dependencies into $(VENV): the first time takes several minutes; pip lists each package as it goes"
USE = @echo "imgmatch is installed in $(BIN)/ (not on your PATH): run $(BIN)/imgmatch --help, or 'source $(BIN)/activate' first to type imgmatch alone"

$(VENV)/.runtime-installed: pyproject.toml | $(BIN)/python
	$(call INSTALLING,)
	$(BIN)/python -m pip install -e .
	@touch $@
	$(USE)

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(call INSTALLING, with the test tools)
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@ $(VENV)/.runtime-installed
	$(USE)

setup: $(VENV)/.runtime-installed ## Create .venv and install imgmatch (runtime only)

setup-dev: $(VENV)/.dev-installed ## Create .venv and install imgmatch with the test tools

report: $(VENV)/.runtime-installed ## Write one HTML report per demo applicant, plus index.html, into reports/
	$(BIN)/imgmatch report --programs $(PROGRAMS) --out $(OUT) $(APPLICANTS)
	@echo "Open $(OUT)/index.html in a browser."
	$(USE)

test: $(VENV)/.dev-installed ## Run every test: unit, properties, notebooks (nbval), reports, browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev-installed ## Run the fast tests only (no kernels, browser or cluster)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed ## Check style (ruff lint and format) and the import layers (import-linter)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

format: $(VENV)/.dev-installed ## Reformat the code with ruff
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: $(VENV)/.dev-installed ## Run the benchmarks (engine, signals, reports, scaling, market); each ends with one JSON line
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_signals.py
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python benchmarks/bench_scaling.py
	$(BIN)/python benchmarks/bench_market.py --mc-scale 0.25

lab: $(VENV)/.runtime-installed ## Open JupyterLab on notebooks/ (installs the [lab] extra on first use)
	@$(BIN)/python -c 'import jupyterlab' 2>/dev/null || { \
	  $(BIN)/python -m pip install --quiet -e '.[lab]' && \
	  $(BIN)/python -m pip uninstall --quiet -y rfc3987-syntax; }
	$(BIN)/jupyter lab notebooks/

demo-data: $(VENV)/.runtime-installed ## Regenerate the synthetic demo data in data/demo/ (seed 2025)
	$(BIN)/imgmatch demo-data --out data/demo --seed 2025

clean: ## Remove generated reports and caches (keeps .venv)
	rm -rf $(OUT)/*.html $(OUT)/errors.json $(OUT)/.imgmatch .pytest_cache .hypothesis .ruff_cache
