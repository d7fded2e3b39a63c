# Every target creates .venv on demand, so a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TABLES ?= tables
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: recalibrate on the shipped seeds, then serve the API on $(HOST):$(PORT)
demo: $(STAMP)
	$(BIN)/reliability recalibrate --config seeds/acw/dataset.toml --out $(TABLES) --report $(TABLES)/report.html
	$(BIN)/reliability serve --tables $(TABLES) --host $(HOST) --port $(PORT) --config seeds/api-demo.toml

## test: lint, strict type check and the whole test suite
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) $(TABLES) .mypy_cache .ruff_cache .pytest_cache
