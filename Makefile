# Everything a newcomer needs: `make run` serves a node on http://localhost:8080, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data
PORT ?= 8080
# Test processes: every test node is its own server and database, so tests run side by side.
JOBS ?= 2

.PHONY: run test lint bench soak demo clean peers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

$(DATA)/cityfed.toml: | $(VENV)/.installed
	$(BIN)/cityfed init --data-dir $(DATA) --domain localhost:$(PORT) --scheme http \
		--handle city --name "Example City" --allow-private-addresses

run: $(VENV)/.installed $(DATA)/cityfed.toml
	$(BIN)/cityfed serve --config $(DATA)/cityfed.toml --host 127.0.0.1 --port $(PORT)

# Independent fediverse peers for tests/peers/ (bovine-herd from PyPI; Fedify, jsonld.js and the
# official JSON-LD contexts from npm), pinned in tests/peers/ and installed into .cache/peers once:
# redone only when a pin file changes. A part whose registry can't be reached is left out and its
# tests skip, saying why.
# Both parts install side by side; `make peers` is a no-op once they are in place.
PEERS := .cache/peers
peers:
	@PYTHON=$(PYTHON) sh tests/peers/install.sh bovine node megalodon

test: $(VENV)/.installed-test peers
	$(BIN)/python -m pytest -q -n $(JOBS) $(PYTEST_ARGS)

# Three cities (Berlin, Hamburg, Barcelona) on 127.0.0.1:8081-8083, seeded, until Ctrl-C.
demo: $(VENV)/.installed
	$(BIN)/python -m cityfed.demo --data-dir demo-data

# ruff; the layering of DESIGN.md §2 as import-linter contracts (pyproject.toml); mypy (strict on
# activitypub/ and models/).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# Reliability figures (bench/soak.py): SOAK_MINUTES=2 make soak for a shorter steady part.
SOAK_MINUTES ?= 10
soak: $(VENV)/.installed-test
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES) $(SOAK_PARTS)

clean:
	rm -rf $(VENV) .pytest_cache $(PEERS)
