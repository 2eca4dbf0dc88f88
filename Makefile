# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
DEMO_DIR ?= var

.PHONY: install system-deps test lint typecheck pytest demo bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

system-deps:
	bash scripts/install-system-deps.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install system-deps
	bash scripts/run-tests.sh

test: install system-deps lint typecheck pytest

demo: install system-deps
	bash scripts/demo.sh "$(DEMO_DIR)"

bench: install system-deps
	$(BIN)/python bench/pacs_retrieve.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
