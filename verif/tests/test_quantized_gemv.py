"""Activation quantization unit chained into the VMAC: a GEMV, bit-exact against the golden model."""

import pytest

from sim.runner import one_simulator_quick, run_bench
from verif.harness import QuantizedDotHarness


@pytest.mark.parametrize("sim", one_simulator_quick())    # each block is benched on every simulator
def test_gemv_64x1024_end_to_end(sim):
    result = run_bench("gemv-bf16", QuantizedDotHarness, {"input_format": "bf16", "max_channels": 1024},
                       "verif.benches.quantized_gemv", sim=sim,
                       stimulus={"rows": 64, "channels": 1024, "fp8_fraction": 0.3, "input_format": "bf16",
                                 "max_channels": 1024})
    assert result.checked()["gemv_end_to_end"]["vectors"] == 64
