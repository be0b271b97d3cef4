"""Quick synthesis smoke test: one small block through Yosys (ECP5, generic, iCE40) and nextpnr."""

import json

import pytest

from fpga import flow


@pytest.mark.synth
def test_decoder_synthesizes_and_places(tmp_path, monkeypatch):
    monkeypatch.setattr(flow, "BUILD", tmp_path)
    config = next(c for c in flow.CONFIGS if c.name == "codec-e4m3-decoder-x16")
    result = flow.run_config(config)
    assert result["lut4"] > 0 and result["ff"] >= 16 * 8     # at least the 16 registered input codes
    assert result["dsp"] == 0 and result["ice40_fits_up5k"]
    assert result["fmax_mhz"] and result["fmax_mhz"] > 10
    cached = json.loads((tmp_path / f"codec-e4m3-decoder-x16-{result['design_key']}" / "result.json").read_text())
    assert cached == result
    assert flow.run_config(config) == result                  # the same design: from the cache


def test_tables_report_ratios():
    row = {"lut4": 100, "ff": 10, "dsp": 0, "bram": 0, "lut4_nodsp": 100, "generic_cells": 50, "fmax_mhz": 99.0}
    results = [{"config": f"vmac-{v}-x1", **row, "lut4_nodsp": n} for v, n in (("mixed", 300), ("fp8", 200), ("fp4", 100))]
    text = flow.tables(results)
    assert "| VMAC x1: mixed / FP8-only (LUT4 without DSPs) | 1.5 |" in text
    assert "| VMAC x1: mixed / FP4-only (LUT4 without DSPs) | 3.0 |" in text


def _controller_at_64_bit_lanes() -> str:
    return next(c.name for c in flow.CONFIGS if c.params.get("lane_bits") == 64)


def test_tables_report_memory_controller_per_bandwidth():
    """Peak host bandwidth is the lane width per cycle: 64 bits at 50 MHz = 0.4 GB/s."""
    name = _controller_at_64_bit_lanes()
    row = {"config": name, "lut4": 6400, "ff": 10, "dsp": 0, "bram": 8, "lut4_nodsp": 6400,
           "generic_cells": 50, "fmax_mhz": 50.0}
    assert f"| {name}: LUT4 per GB/s of peak host bandwidth (0.40 GB/s) | 16000 |" in flow.tables([row])


def test_unfinished_routing_reports_the_placement_estimate():
    row = {"config": _controller_at_64_bit_lanes(), "lut4": 6400, "ff": 10, "dsp": 0, "bram": 8, "lut4_nodsp": 6400,
           "generic_cells": 50, "fmax_mhz": None, "fmax_placed_mhz": 50.0, "pnr": "routing unfinished after 60 s"}
    text = flow.tables([row])
    assert "| routing unfinished after 60 s | 50.0 |" in text
    assert "(0.40 GB/s, placement estimate) | 16000 |" in text


def test_placed_fmax_is_the_first_timing_report():
    log = ("Info: Max frequency for clock 'clk': 44.29 MHz (FAIL at 100.00 MHz)\n...\n"
           "Warning: Max frequency for clock 'clk': 40.10 MHz (FAIL at 100.00 MHz)\n")
    assert flow.placed_fmax(log) == 44.29
    assert flow.placed_fmax("no timing yet") is None


def test_tables_give_the_worst_seed_and_the_lane_against_its_peer():
    row = {"lut4": 100, "ff": 10, "dsp": 0, "bram": 0, "lut4_nodsp": 100, "generic_cells": 50, "fmax_mhz": 160.0,
           "fmax_by_seed": {"1": 160.0, "2": 151.5, "3": 155.0}, "fmax_worst_mhz": 151.5}
    lane = {**row, "config": "lane-e4m3-product", "lut4_nodsp": 109, "harness_lut4_max": 10}
    text = flow.tables([{**row, "config": "vmac-mixed-x1"}, lane])
    assert "| 151.5 (seeds 1, 2, 3) |" in text
    assert "| 1.0 / 0.908 |" in text                                  # 109 / 109; (109 - 10) / 109


def test_extra_seeds_reuse_the_placed_netlist(tmp_path, monkeypatch):
    """Seeds already routed are not rerouted; the worst is the minimum over all of them."""
    routed = []
    monkeypatch.setattr(flow, "_route", lambda out, netlist, extra, seed, limit: routed.append(seed) or (True, 150.0 + seed))
    config = flow.Config("probe", lambda: None)
    result = flow._more_seeds(config, tmp_path, {"fmax_mhz": 151.0, "fmax_by_seed": {"1": 151.0}}, (1, 2, 3), 60)
    assert routed == [2, 3] and result["fmax_by_seed"] == {"1": 151.0, "2": 152.0, "3": 153.0}
    assert result["fmax_worst_mhz"] == 151.0
    assert flow._more_seeds(config, tmp_path, result, (1, 2, 3), 60) is result and routed == [2, 3]
