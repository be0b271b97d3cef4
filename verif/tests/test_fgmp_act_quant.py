"""FGMP activation quantization unit: bit-exact against golden.fgmp.quantize_activations."""

import pytest

from hdl.fgmp_act_quant import FGMPActQuant
from sim.runner import available_simulators, run_bench, simulator_matrix

QUICK = {"trials": 3, "rows": 6, "channels": 128}
LONG = {"trials": 40, "rows": 16, "channels": 256}
FORMATS = ["bf16", "fp16", "fp32"]


def run_unit(input_format, sim, stimulus, testcase=None):
    return run_bench(f"actquant-{input_format}", FGMPActQuant, {"input_format": input_format, "max_channels": 256},
                     "verif.benches.fgmp_act_quant", sim=sim, testcase=testcase,
                     stimulus={"input_format": input_format, **stimulus}).checked()


@pytest.mark.parametrize("input_format, sim", simulator_matrix(FORMATS))
def test_act_quant_matches_golden(input_format, sim):
    tests = run_unit(input_format, sim, QUICK)
    blocks = QUICK["trials"] * QUICK["rows"] * QUICK["channels"] // 16
    assert tests["realistic_activations_with_gaps_and_backpressure"]["vectors"] == blocks
    assert tests["throughput"]["cycles_per_block"] == 1.0
    assert tests["reset_mid_stream_starts_clean"]["vectors"] == 4 * 64 // 16 + 1   # the batch, the reset-cycle row
    racing = tests["config_writes_racing_a_stream"]
    assert racing["vectors"] == 24 * 64 // 16 + 1                 # the stream, the block after the idle write
    assert min(racing["switches"], racing["inactive_writes"], racing["refused_writes"]) > 0
    assert 0 < racing["fp8_blocks"] < 24 * 64 // 16               # both modes, so the bank read matters
    unit = FGMPActQuant(input_format, 256)
    assert tests["latency_and_credits"]["latency"] == unit.latency
    assert tests["latency_and_credits"]["held"] == unit.queue_depth


@pytest.mark.regress
@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("input_format", FORMATS)
def test_act_quant_long_random(input_format, sim):
    run_unit(input_format, sim, LONG, "realistic_activations_with_gaps_and_backpressure")


@pytest.mark.parametrize("kwargs, match", [
    ({"input_format": "fp8"}, "'fp8'"), ({"max_channels": 40}, "power of two"), ({"max_channels": 0}, "0"),
    ({"max_channels": 48}, "48"), ({"bram": "m9k"}, "bram"), ({"bram": "ecp5", "max_channels": 8192}, "8192")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FGMPActQuant(**kwargs)


def test_ecp5_option_puts_the_sensitivity_banks_and_the_queue_in_registered_block_rams():
    """bram="ecp5": the two banks (512 rows x 128 bits) are four DP16KD and the result queue
    (512 x 137 bits) four more, all with output registers; the inferred unit (what the benches
    run) has the same latency and queue depth."""
    from amaranth.back import rtlil
    ecp5 = FGMPActQuant("bf16", 4096, bram="ecp5")
    text = rtlil.convert(ecp5, name="top")
    assert text.count("cell \\DP16KD") == 8 and text.count('parameter \\REGMODE_B "OUTREG"') == 8
    inferred = FGMPActQuant("bf16", 4096)
    assert (ecp5.latency, ecp5.queue_depth) == (inferred.latency, inferred.queue_depth)
