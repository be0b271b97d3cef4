"""SmartQuant memory controller: bit-exact against golden.bitplane.PlaneStoreModel."""

import numpy as np
import pytest

from golden.bitplane import read_view
from hdl.smartquant import SmartQuantController, SmartQuantDevice
from hdl.smartquant.corner_turn import LANE_WIDTHS, chunk_phase, view_chunk_sources, view_line_sources
from hdl.smartquant.view_decoder import ErrorCause, reciprocal
from sim.runner import available_simulators, run_bench

HARDWARE = {"n_groups": 16, "pool_rows": 8, "n_regions": 4}
# Quick runs: 800 random operations (every error cause about 40 times); 40,000 under regress.
QUICK = {"dram_latency": 20, "host_outstanding": 64, "random_ops": 800, "cap_passes": 3}
SMALL = {**QUICK, "random_ops": 400, "cap_passes": 2}          # other configurations
ICARUS = {**QUICK, "random_ops": 200, "cap_passes": 1}         # the second simulator (event-driven, slower)
LONG = {**QUICK, "random_ops": 40_000, "cap_passes": 20}
# Regress: 10**5 random requests per configuration with resets injected in flight, in 4 seeded parts.
RESETS = {**QUICK, "random_ops": 25_000, "reset_every": 2_000}


def run_controller(sim, stimulus, testcase=None, label=None, seed=None, **hardware):
    params = {**HARDWARE, **hardware}
    name = "smartquant-" + "-".join(f"{k}{v}" for k, v in params.items())
    return run_bench(name, SmartQuantController, params, "verif.benches.smartquant", sim=sim,
                     testcase=testcase, stimulus=stimulus, label=label, seed=seed).checked()


@pytest.mark.parametrize("sim", available_simulators())
def test_controller_matches_golden(sim):
    """The default configuration on Verilator; on Icarus (an event-driven simulator, where the
    default's 512-bit lanes cost minutes) the same RTL at 128-bit lanes, with 200 random
    operations. The long random run under regress takes the default on both."""
    stimulus, hardware = (QUICK, {}) if sim == "verilator" else (ICARUS, {"lane_bits": 128})
    tests = run_controller(sim, stimulus, **hardware)
    per_view = tests["write_then_stream_every_view"]["per_view"]
    for k, figures in per_view.items():
        assert figures["dram_bytes_per_weight"] == int(k) / 8          # exactly k/8 of INT8
    assert tests["cap_changes_are_atomic_per_group"]["cap_changes"] > 0
    random = tests["random_traffic_with_backpressure"]
    assert random["transactions"] == random["requests"] == stimulus["random_ops"]      # each answered once
    assert all(random["errors"][cause.name] > 0 for cause in ErrorCause if cause != ErrorCause.NONE), random["errors"]


@pytest.mark.parametrize("hardware", [{"pool_rows": 1, "n_regions": 1, "dram_outstanding": 3, "lane_bits": 64},
                                      pytest.param({"pool_rows": 2, "lane_bits": 128}, marks=pytest.mark.regress),
                                      pytest.param({"pool_rows": 16, "dram_outstanding": 32, "lane_bits": 256}, marks=pytest.mark.regress),
                                      pytest.param({"pool_rows": 1, "lane_bits": 64, "decision_cycles": 1}, marks=pytest.mark.regress),
                                      pytest.param({"decision_cycles": 2}, marks=pytest.mark.regress)])
def test_other_configurations(hardware):
    """Correctness at the extremes: one pool row (8 slots), one region, a DRAM read limit of 3 and
    the narrowest lanes together in quick runs (the default is 8 rows, 4 regions, 64 reads, 512-bit
    lanes); the other lane widths and pool sizes under regress (the corner-turn wiring of every lane
    width is checked against the golden packing below), and the sequencer's decision in the cycle
    count each lane width does not take by default (1 below 512-bit lanes, 2 at 512)."""
    run_controller("verilator", SMALL, **hardware)


@pytest.mark.regress
@pytest.mark.parametrize("dram_interval", [1, 2])
def test_streaming_throughput_large_pool(dram_interval):
    """A measurement (figures in the summary): 64 groups streamed at every k with 16 pool rows."""
    stimulus = {**QUICK, "dram_interval": dram_interval, "host_outstanding": 128}
    tests = run_controller("verilator", stimulus, "write_then_stream_every_view", f"dram-interval{dram_interval}",
                           n_groups=64, pool_rows=16, dram_outstanding=64, response_depth=128)
    for k, figures in tests["write_then_stream_every_view"]["per_view"].items():
        assert figures["dram_bytes_per_weight"] == int(k) / 8


@pytest.mark.regress
@pytest.mark.parametrize("part", range(4))
@pytest.mark.parametrize("hardware", [{}, {"pool_rows": 1, "lane_bits": 64, "dram_outstanding": 3}])
def test_random_traffic_with_resets_in_flight(hardware, part):
    """10**5 random requests per configuration (4 parts of 25,000, seeds 1..4) with a reset about
    every 2,000: every request answered exactly once or dropped by a reset, 0 mismatches."""
    tests = run_controller("verilator", RESETS, "random_traffic_with_backpressure", f"resets{part}",
                           seed=part + 1, **hardware)
    figures = tests["random_traffic_with_backpressure"]
    assert figures["resets"] > 0 and figures["requests"] == RESETS["random_ops"]
    assert figures["transactions"] + figures["dropped_at_resets"] == figures["requests"]


@pytest.mark.regress
@pytest.mark.parametrize("sim", available_simulators())
def test_controller_long_random(sim):
    tests = run_controller(sim, LONG, "random_traffic_with_backpressure")
    assert tests["random_traffic_with_backpressure"]["transactions"] == LONG["random_ops"]


@pytest.mark.parametrize("kwargs, match", [
    ({"n_groups": 0}, "n_groups"), ({"pool_rows": 17}, "pool_rows"), ({"n_regions": 13}, "n_regions"),
    ({"dram_outstanding": 0}, "dram_outstanding"), ({"response_depth": 1}, "response_depth"), ({"response_depth": 257}, "response_depth"),
    ({"dram_base": 32}, "dram_base"), ({"pool_rows": True}, "pool_rows"), ({"pool_rows": 0}, "pool_rows"), ({"lane_bits": 96}, "lane_bits"),
    ({"lane_bits": 32}, "lane_bits"), ({"lane_bits": 64.0}, "lane_bits"), ({"memory": "ice40"}, "memory"),
    ({"decision_cycles": 0}, "decision_cycles"), ({"decision_cycles": 3}, "decision_cycles")])
def test_invalid_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmartQuantController(**kwargs)


def test_device_refuses_a_dram_base():
    with pytest.raises(ValueError, match="dram_base"):
        SmartQuantDevice(16, dram_base=64)


@pytest.mark.parametrize("width", [3, 9, 14, 20])
@pytest.mark.parametrize("divisor", range(1, 9))
def test_view_decoder_division_is_exact(width, divisor):
    index = np.arange(1 << width, dtype=np.int64)
    mult, shift = reciprocal(divisor, width)
    assert np.array_equal((index * mult) >> shift, index // divisor)


def test_corner_turn_wiring_matches_the_golden_packing():
    gen = np.random.default_rng(0)
    planes = gen.integers(0, 256, (1, 8, 64)).astype(np.uint8)
    bits = np.unpackbits(planes[0], axis=-1, bitorder="little")            # (plane, weight)
    for k in range(1, 9):
        want = read_view(planes, k)
        for line in range(k):
            got = np.packbits([bits[p, j] for p, j in view_line_sources(k, line)], bitorder="little")
            assert np.array_equal(got, want[line]), (k, line)


@pytest.mark.parametrize("lane_bits", LANE_WIDTHS)
def test_chunk_wiring_reassembles_every_view_line(lane_bits):
    """Chunks read from the even/odd span banks concatenate to the golden view lines."""
    gen = np.random.default_rng(lane_bits)
    planes = gen.integers(0, 256, (1, 8, 64)).astype(np.uint8)
    bits = np.unpackbits(planes[0], axis=-1, bitorder="little")            # (plane, weight)
    spans = bits.reshape(8, 512 // lane_bits, lane_bits)                    # (plane, span, bit)
    for k in range(1, 9):
        want = read_view(planes, k)
        for line in range(k):
            got = []
            for chunk in range(512 // lane_bits):
                first = (512 * line + lane_bits * chunk) // k // lane_bits
                for plane, offset, bit in view_chunk_sources(k, line, chunk, lane_bits):
                    got.append(spans[plane, first + offset, bit])
            assert np.array_equal(np.packbits(got, bitorder="little"), want[line]), (k, line)


@pytest.mark.parametrize("lane_bits", LANE_WIDTHS)
def test_chunk_wiring_depends_only_on_view_and_phase(lane_bits):
    """The corner turn has one multiplexer input per (k, phase): every chunk of a phase is wired alike."""
    for k in range(1, 9):
        wiring_of_phase = {}
        for line in range(k):
            for chunk in range(512 // lane_bits):
                sources = view_chunk_sources(k, line, chunk, lane_bits)
                assert wiring_of_phase.setdefault(chunk_phase(k, line, chunk, lane_bits), sources) == sources
        assert sorted(wiring_of_phase) == list(range(k))


STREAM = {"dram_latency": 20, "host_outstanding": 64, "stream_lines": 1024, "warmup": 128}


def run_stream(stimulus, label, **hardware):
    params = {**HARDWARE, "n_groups": 1024, **hardware}
    name = "smartquant-" + "-".join(f"{k}{v}" for k, v in params.items())
    return run_bench(name, SmartQuantController, params, "verif.benches.smartquant_stream", sim="verilator",
                     stimulus=stimulus, label=label).checked()["long_sequential_stream_every_view"]


@pytest.mark.regress
@pytest.mark.parametrize("dram_model", ["fixed", "banked"])
@pytest.mark.parametrize("dram_interval", [1, 2, 4])
def test_long_sequential_stream(dram_interval, dram_model):
    """A measurement (figures in the summary, `docs/measurements.md`): 1,024 lines of every view
    over a 1,024-group region, DRAM at 1, 1/2 and 1/4 burst per cycle, fixed or DDR4 timing;
    every line checked against the golden model."""
    result = run_stream({**STREAM, "dram_interval": dram_interval, "dram_model": dram_model},
                        f"stream-{dram_model}-interval{dram_interval}")
    for k, figures in result["per_view"].items():
        assert figures["dram_bursts"] == figures["lines"]      # k/8 of INT8: one burst per line
