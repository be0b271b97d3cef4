"""FGMP VMAC: bit-exact against golden.fgmp_dot for every variant, 1 and 2 block pairs per beat."""

import pytest

from hdl.fgmp_vmac import FGMPVmac
from sim.runner import available_simulators, run_bench

QUICK = {"trials": 6, "rows": 12, "throughput_rows": 16}
LONG = {"trials": 60, "rows": 40, "throughput_rows": 64}
CONFIGS = [(1, "mixed"), (2, "mixed"), (1, "fp8"), (1, "fp4")]


def run_vmac(blocks, variant, sim, stimulus, testcase=None):
    return run_bench(f"vmac-{variant}-x{blocks}", FGMPVmac, {"blocks": blocks, "variant": variant},
                     "verif.benches.fgmp_vmac", sim=sim, testcase=testcase,
                     stimulus={"blocks": blocks, "variant": variant, **stimulus}).checked()


@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("blocks, variant", CONFIGS)
def test_vmac_matches_golden(blocks, variant, sim):
    tests = run_vmac(blocks, variant, sim, QUICK)
    assert tests["random_rows_with_gaps_and_backpressure"]["vectors"] == QUICK["trials"] * QUICK["rows"]
    assert set(tests["throughput_per_pairing"]["cycles_per_block"].values()) == {1 / blocks}


@pytest.mark.regress
@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("blocks, variant", CONFIGS)
def test_vmac_long_random(blocks, variant, sim):
    tests = run_vmac(blocks, variant, sim, LONG, "random_rows_with_gaps_and_backpressure")
    assert tests["random_rows_with_gaps_and_backpressure"]["vectors"] == LONG["trials"] * LONG["rows"]


@pytest.mark.parametrize("kwargs, match", [
    ({"blocks": 0}, "blocks"), ({"variant": "fp6"}, "'fp6'"), ({"blocks": True}, "blocks")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FGMPVmac(**kwargs)
