# groomwatch: `make run` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint format bench i18n install install-dev clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PIP) -e '.[all]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(PIP) -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: scan the bundled example conversations with the shipped model (HTML report in var/),
## then serve the API and the hotline pages on SQLite (var/groomwatch.db) with a demo API key.
run: install
	@mkdir -p var
	$(BIN)/groomwatch scan examples/ --output var/scan.jsonl --report var/report.html
	@echo "Scan results: var/scan.jsonl   HTML report: var/report.html"
	$(BIN)/groomwatch serve --demo

## test: install the dev extras and run the whole suite.
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff (lint and format check) and mypy on the package.
lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## bench: every benchmark in benchmarks/, printing its figures.
bench: install-dev
	$(PY) benchmarks/run_all.py

## i18n: refresh the gettext catalogues from the templates and compile them.
i18n: install-dev
	$(PY) -m groomwatch.server.i18n update
	$(PY) -m groomwatch.server.i18n compile

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
