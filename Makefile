# Every target sets up what it needs on a fresh Linux machine: virtualenv, Python packages,
# amazon-kclpy with its jars, and (for the KCL tests) a Java runtime.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: java demo test unit integration kcl lint fmt bench up clean

$(STAMP): pyproject.toml scripts/install_kclpy.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[local,dev]'
	$(BIN)/python scripts/install_kclpy.py
	@touch $(STAMP)

java:
	@command -v java >/dev/null || { apt-get update -q && apt-get install -y -q openjdk-17-jre-headless; }

demo: $(STAMP)
	$(BIN)/stockpipe demo

up: $(STAMP)
	$(BIN)/stockpipe up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) java lint
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

bench: $(STAMP)
	$(BIN)/python -m bench.producer_bench
	$(BIN)/python -m bench.consumer_bench
	$(BIN)/python -m bench.history_bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
