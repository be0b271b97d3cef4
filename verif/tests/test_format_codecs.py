"""Format codecs in hardware, bit-exact against golden.formats on every available simulator."""

import pytest

from hdl.format_decoder import FormatDecoder
from hdl.format_encoder import FormatEncoder
from hdl.small_float import HW_FORMATS
from sim.runner import available_simulators, one_simulator_quick, run_bench, verilator_writes_fst
from verif.harness import CodecHarness

# Random binary32 values per quick run: 100,000 on Verilator; Icarus, there for its 4-state
# semantics (X propagation), sees every code, midpoint and special and 20,000 random values.
# `regress` runs 2,000,000 on each.
RANDOM_VECTORS = {"verilator": 100_000, "icarus": 20_000}


def run_codecs(fmt, sim, random_vectors, testcase=None):
    return run_bench(f"codecs-{fmt}", CodecHarness, {"fmt": fmt, "lanes": 16}, "verif.benches.format_codecs",
                     sim=sim, testcase=testcase, stimulus={"random_vectors": random_vectors}).checked()


@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("fmt", HW_FORMATS)
def test_codecs_match_golden_bit_for_bit(fmt, sim):
    tests = run_codecs(fmt, sim, RANDOM_VECTORS[sim])
    assert tests["encoder_random_values"]["vectors"] == RANDOM_VECTORS[sim]
    assert tests["decoder_every_code"]["vectors"] == 2 ** (1 + {"e2m1": 3}.get(fmt, 7))


@pytest.mark.regress
@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("fmt", HW_FORMATS)
def test_codecs_long_random(fmt, sim):
    assert run_codecs(fmt, sim, 2_000_000, "encoder_random_values")["encoder_random_values"]["vectors"] == 2_000_000


@pytest.mark.parametrize("make, match", [
    (lambda: FormatDecoder("e3m2"), "'e3m2'"),
    (lambda: FormatEncoder("e4m3", lanes=0), "lanes"),
    (lambda: FormatEncoder("e2m1", saturate=False), "saturate=False"),
])
def test_invalid_parameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("sim", one_simulator_quick())
def test_cocotb_random_seed_is_the_seed_printed_and_used(sim, monkeypatch):
    """cocotb reads COCOTB_RANDOM_SEED whatever the runner asks: the printed seed must be that one."""
    monkeypatch.delenv("SEED", raising=False)
    monkeypatch.setenv("COCOTB_RANDOM_SEED", "42")
    result = run_bench("codecs-e2m1", CodecHarness, {"fmt": "e2m1", "lanes": 16}, "verif.benches.format_codecs",
                       sim=sim, testcase="encoder_random_values", stimulus={"random_vectors": 2000}, label="seed42")
    assert result.seed == 42 and result.summary["seed"] == 42 and result.summary["cocotb_seed"] == 42
    assert result.checked()["encoder_random_values"]["vectors"] == 2000


@pytest.mark.parametrize("sim", [pytest.param(sim, marks=() if sim == "icarus" or len(available_simulators()) == 1
                                                else pytest.mark.regress) for sim in available_simulators()])
def test_waves_are_written_as_fst(sim):
    """FST waves: on Icarus in quick runs (its build is instant), on Verilator (a traced build) under regress."""
    result = run_bench("codecs-e2m1", CodecHarness, {"fmt": "e2m1", "lanes": 16}, "verif.benches.format_codecs",
                       sim=sim, testcase="decoder_every_code", waves=True, label="waves")
    assert result.checked()["decoder_every_code"]["vectors"] == 16
    compact = sim == "icarus" or verilator_writes_fst()      # Verilator's FST writer needs lz4.h
    assert result.waves is not None and result.waves.suffix == (".fst" if compact else ".vcd"), result.waves
    assert 0 < result.waves.stat().st_size < 1 << 20
