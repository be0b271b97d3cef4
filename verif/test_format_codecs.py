"""Format codecs in hardware, bit-exact against golden.formats on every available simulator."""

import pytest

from hdl.format_decoder import FormatDecoder
from hdl.format_encoder import FormatEncoder
from hdl.small_float import HW_FORMATS
from sim.runner import available_simulators, run_bench
from verif.harness import CodecHarness

RANDOM_VECTORS = 100_000


def run_codecs(fmt, sim, random_vectors, testcase=None):
    return run_bench(f"codecs-{fmt}", CodecHarness, {"fmt": fmt, "lanes": 16}, "verif.benches.format_codecs",
                     sim=sim, testcase=testcase, stimulus={"random_vectors": random_vectors}).checked()


@pytest.mark.parametrize("sim", available_simulators())
@pytest.mark.parametrize("fmt", HW_FORMATS)
def test_codecs_match_golden_bit_for_bit(fmt, sim):
    tests = run_codecs(fmt, sim, RANDOM_VECTORS)
    assert tests["encoder_random_values"]["vectors"] == RANDOM_VECTORS
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
