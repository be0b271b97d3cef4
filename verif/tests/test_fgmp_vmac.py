"""FGMP VMAC: bit-exact against golden.fgmp_dot for every variant, 1 and 2 block pairs per beat."""

import pytest

from hdl.fgmp_vmac import FGMPVmac
from sim.runner import available_simulators, run_bench

QUICK = {"trials": 6, "rows": 12, "throughput_rows": 16}
LONG = {"trials": 60, "rows": 40, "throughput_rows": 64}
CONFIGS = [(1, "mixed"), (2, "mixed"), (1, "fp8"), (1, "fp4")]


def run_vmac(blocks, variant, sim, stimulus, testcase=None):
    vmac = FGMPVmac(blocks, variant)
    return run_bench(f"vmac-{variant}-x{blocks}", FGMPVmac, {"blocks": blocks, "variant": variant},
                     "verif.benches.fgmp_vmac", sim=sim, testcase=testcase,
                     stimulus={"blocks": blocks, "variant": variant, "latency": vmac.latency,
                               "queue_depth": vmac.queue_depth, **stimulus}).checked()


def _quick_matrix():
    """(blocks, variant, sim): the mixed VMAC on every simulator; the one-kind variants (the same
    generator with one decode path) on one simulator in quick runs — Icarus, which builds at once
    and is 4-state — and on every simulator under ``regress``."""
    sims = available_simulators()
    quick = "icarus" if "icarus" in sims else sims[0]
    return [pytest.param(blocks, variant, sim, id=f"{blocks}-{variant}-{sim}",
                         marks=() if variant == "mixed" or sim == quick else pytest.mark.regress)
            for blocks, variant in CONFIGS for sim in sims]


@pytest.mark.parametrize("blocks, variant, sim", _quick_matrix())
def test_vmac_matches_golden(blocks, variant, sim):
    tests = run_vmac(blocks, variant, sim, QUICK)
    assert tests["random_rows_with_gaps_and_backpressure"]["vectors"] == QUICK["trials"] * QUICK["rows"]
    assert set(tests["throughput_per_pairing"]["cycles_per_block"].values()) == {1 / blocks}
    timing = tests["latency_credits_and_rows_of_one_beat"]
    vmac = FGMPVmac(blocks, variant)
    assert timing["latency"] == vmac.latency
    assert timing["rows_taken_while_stalled"] == vmac.queue_depth
    assert timing["one_beat_rows_cycles_per_block"] == 1 / blocks


@pytest.mark.regress
@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("blocks, variant", CONFIGS)
def test_vmac_long_random(blocks, variant, sim):
    tests = run_vmac(blocks, variant, sim, LONG, "random_rows_with_gaps_and_backpressure")
    assert tests["random_rows_with_gaps_and_backpressure"]["vectors"] == LONG["trials"] * LONG["rows"]


@pytest.mark.parametrize("kwargs, match", [
    ({"blocks": 0}, "blocks"), ({"variant": "fp6"}, "'fp6'"), ({"blocks": True}, "blocks"),
    ({"dsp": "xilinx"}, "'xilinx'")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FGMPVmac(**kwargs)


def test_ecp5_option_puts_the_scale_products_in_registered_dsp_blocks():
    """dsp="ecp5": 16 MULT18X18D (4 for the 24 x 24 scale product, 12 for 64 x 48), each with its
    input and output registers; dsp="inferred" has none. Both have the same latency."""
    from amaranth.back import rtlil
    ecp5 = rtlil.convert(FGMPVmac(1, "mixed", dsp="ecp5"), name="top")
    assert ecp5.count("cell \\MULT18X18D") == 16
    assert ecp5.count('parameter \\REG_OUTPUT_CLK "CLK0"') == 16
    assert ecp5.count('parameter \\REG_INPUTA_CLK "CLK0"') == 16
    assert "MULT18X18D" not in rtlil.convert(FGMPVmac(1, "mixed"), name="top")
    assert FGMPVmac(1, "mixed", dsp="ecp5").latency == FGMPVmac(1, "mixed").latency
