# `make run` and `make test` work on a fresh machine with only Python 3.11:
# both create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit install openapi bench mutation clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	GATEWAY_CONFIG=$${GATEWAY_CONFIG:-examples/gateway.yaml} $(BIN)/gateway serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# The console's browser tests drive Debian's Chromium (Playwright cannot download its own).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  else echo "make test: /usr/bin/chromium is missing: sudo apt-get install -y chromium" >&2; exit 1; fi; \
	fi

test: lint typecheck browser
	$(BIN)/pytest

openapi: $(STAMP)
	$(BIN)/python -m gateway.openapi_export > openapi/openapi.json

# Mutation testing of the pure core (docs/testing.md): minutes, so not part of `make test`.
# MUTATION_JOBS bounds the parallel test runs (the machine is shared).
MUTATION_JOBS ?= 1
mutation: $(STAMP)
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/mutmut results --all true | $(BIN)/python tests/support/mutation_score.py

bench: $(STAMP)
	$(BIN)/python bench/intake_throughput.py --mode both
	$(BIN)/python bench/delivery_throughput.py --referrals 150 --workers 1
	$(BIN)/python bench/overload.py

clean:
	rm -rf $(VENV) var mutants .mypy_cache .ruff_cache .pytest_cache .hypothesis
