"""The simulation runner's contract with its users: seeds that reproduce, simulators that say why they cannot run."""

import pytest

from sim import runner


@pytest.mark.parametrize("environ, expected", [
    ({"SEED": "7"}, 7), ({"COCOTB_RANDOM_SEED": "42"}, 42), ({"RANDOM_SEED": "5"}, 5),
    ({"SEED": "9", "COCOTB_RANDOM_SEED": "9"}, 9), ({"SEED": " 3 ", "COCOTB_RANDOM_SEED": ""}, 3),
])
def test_the_seed_comes_from_ours_or_cocotbs_variable(environ, expected):
    assert runner.resolve_seed(environ=environ) == expected
    assert runner.resolve_seed(expected, environ=environ) == expected


@pytest.mark.parametrize("seed, environ, match", [
    (None, {"SEED": "1", "COCOTB_RANDOM_SEED": "42"}, r"conflicting seeds \(SEED=1, COCOTB_RANDOM_SEED=42\)"),
    (8, {"COCOTB_RANDOM_SEED": "42"}, r"COCOTB_RANDOM_SEED=42, the seed argument=8"),
    (None, {"SEED": "x1"}, "SEED='x1' is not an integer seed"),
])
def test_seeds_that_disagree_are_refused(seed, environ, match):
    with pytest.raises(ValueError, match=match):
        runner.resolve_seed(seed, environ=environ)


def test_without_a_seed_each_run_draws_a_fresh_one():
    seeds = {runner.resolve_seed(environ={}) for _ in range(8)}
    assert len(seeds) > 1 and all(0 <= s < 2 ** 31 for s in seeds)


def test_a_missing_simulator_gives_one_clear_reason(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(runner.sys, "executable", "/nonexistent/python")
    reason = runner.missing_simulator("icarus")
    assert reason == ("SIM=icarus: the iverilog executable is not on PATH; install Icarus Verilog "
                      "(`apt-get install iverilog`) or unset SIM")
    with pytest.raises(RuntimeError, match="the iverilog executable is not on PATH"):
        runner.run_bench("any", dict, {}, "verif.benches.format_codecs", sim="icarus")


def test_sim_names_one_simulator_even_when_absent(monkeypatch):
    monkeypatch.setenv("SIM", "icarus")
    assert runner.available_simulators() == ["icarus"]
    monkeypatch.setenv("SIM", "xcelium")
    with pytest.raises(ValueError, match="SIM='xcelium' is not supported"):
        runner.available_simulators()


def test_verilator_optimisation_level_is_checked(monkeypatch):
    monkeypatch.setenv("CXLQUANT_VERILATOR_OPT", "-O2")
    assert runner.verilator_opt() == "-O2"
    monkeypatch.setenv("CXLQUANT_VERILATOR_OPT", "-Ofast")
    with pytest.raises(ValueError, match="CXLQUANT_VERILATOR_OPT='-Ofast'; expected one of"):
        runner.verilator_opt()
    monkeypatch.delenv("CXLQUANT_VERILATOR_OPT")
    assert runner.verilator_opt() == "-O0"


def test_build_key_covers_what_the_design_imports_and_nothing_else():
    """A build is keyed by the sources its factory imports: editing the MiniLM loader rebuilds nothing."""
    from sim.runner import REPO, _imported_sources
    vmac = {p.relative_to(REPO).as_posix() for p in _imported_sources("hdl.fgmp_vmac")}
    assert {"hdl/fgmp_vmac.py", "hdl/fgmp_lane.py", "hdl/fp32_rounding.py", "hdl/__init__.py"} <= vmac
    assert "golden/minilm.py" not in vmac and not any(p.startswith(("verif/", "sim/")) for p in vmac)
    board = {p.relative_to(REPO).as_posix() for p in _imported_sources("fpga.board.top")}
    assert {"fpga/__init__.py", "fpga/board/uart.py", "hdl/smartquant/controller.py"} <= board
