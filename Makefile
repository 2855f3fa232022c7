# `make run` and `make test` work on a fresh machine with only Python 3.11:
# both create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit install openapi bench clean

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

test: lint typecheck
	$(BIN)/pytest

openapi: $(STAMP)
	$(BIN)/python -m gateway.openapi_export > openapi/openapi.json

bench: $(STAMP)
	$(BIN)/python bench/intake_throughput.py --mode both
	$(BIN)/python bench/delivery_throughput.py --referrals 150 --workers 1
	$(BIN)/python bench/overload.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
