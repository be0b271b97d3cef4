"""Hardware throughput measured in simulation (``make bench``): ``reports/bench_hw.json``.

A measurement, not a test. For each SmartQuant configuration and DRAM model, the long
sequential stream bench (``verif.benches.smartquant_stream``: at least 1,024 host lines per
view over a 1,024-group region, every line checked against the golden model) gives per view
``k`` the steady-state ``lines_per_cycle``, the ``limit`` min(lane rate, DRAM rate), the
``lines`` measured, and with DDR4 timing the row-hit rate and DRAM energy. The FGMP VMAC and the
activation unit give cycles per block over a long stream of blocks. ``sim.report`` reads the file.

Usage: ``python -m sim.bench_hw [--quick]`` (``--quick``: one DRAM model, for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from datetime import date
from pathlib import Path

from .runner import run_bench

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "reports" / "bench_hw.json"

# The default controller (512-bit lanes, 8 pool rows) and the flow's 128-bit configuration.
SMARTQUANT = [{"n_groups": 1024, "pool_rows": 8, "n_regions": 4},
              {"n_groups": 1024, "pool_rows": 8, "n_regions": 4, "lane_bits": 128}]
DRAM_MODELS = [{"dram_model": model, "dram_interval": interval} for model in ("fixed", "banked") for interval in (1, 2, 4)]
STREAM = {"dram_latency": 20, "host_outstanding": 64, "stream_lines": 1024, "warmup": 128}


def _smartquant_factory(**params):
    from hdl.smartquant import SmartQuantController
    return SmartQuantController(**params)


def _vmac_factory(**params):
    from hdl.fgmp_vmac import FGMPVmac
    return FGMPVmac(**params)


def _act_quant_factory(**params):
    from hdl.fgmp_act_quant import FGMPActQuant
    return FGMPActQuant(**params)


def smartquant_runs(quick: bool) -> list[dict]:
    runs = []
    for hardware in SMARTQUANT[:1] if quick else SMARTQUANT:
        models = DRAM_MODELS[:1] if quick else DRAM_MODELS if "lane_bits" not in hardware else DRAM_MODELS[:1]
        for dram in models:
            name = "smartquant-" + "-".join(f"{k}{v}" for k, v in hardware.items())
            label = f"bench-{dram['dram_model']}-interval{dram['dram_interval']}"
            result = run_bench(name, _smartquant_factory, hardware, "verif.benches.smartquant_stream",
                               stimulus={**STREAM, **dram}, label=label).checked()
            stream = result["long_sequential_stream_every_view"]
            runs.append({"config": {"lane_bits": 512, **hardware}, "dram": stream["dram"],
                         "storage_bits": stream["storage_bits"], "mismatches": stream["mismatches"],
                         "per_view": {k: {name: v.get(name) for name in
                                          ("lines", "lines_per_cycle", "limit", "fraction_of_limit", "dram_bursts",
                                           "row_hit_rate", "activates", "refreshes", "dram_energy_pj")
                                          if name in v} for k, v in stream["per_view"].items()}})
    return runs


def vmac_runs() -> list[dict]:
    from hdl.fgmp_vmac import FGMPVmac
    runs = []
    for blocks in (1, 2):
        vmac = FGMPVmac(blocks, "mixed")
        result = run_bench(f"vmac-mixed-x{blocks}", _vmac_factory, {"blocks": blocks, "variant": "mixed"},
                           "verif.benches.fgmp_vmac", testcase="throughput_per_pairing", label="bench",
                           stimulus={"blocks": blocks, "variant": "mixed", "latency": vmac.latency,
                                     "queue_depth": vmac.queue_depth, "throughput_rows": 256}).checked()
        fig = result["throughput_per_pairing"]
        runs.append({"config": {"blocks": blocks, "variant": "mixed"}, "cycles_per_block": fig["cycles_per_block"],
                     "limit": 1 / blocks, "vectors": fig.get("vectors"), "mismatches": fig["mismatches"]})
    return runs


def act_quant_runs() -> list[dict]:
    result = run_bench("actquant-bf16", _act_quant_factory, {"input_format": "bf16", "max_channels": 256},
                       "verif.benches.fgmp_act_quant", testcase="throughput", label="bench",
                       stimulus={"input_format": "bf16", "trials": 3, "rows": 6, "channels": 128}).checked()
    fig = result["throughput"]
    return [{"config": {"input_format": "bf16"}, "cycles_per_block": fig["cycles_per_block"], "limit": 1.0,
             "vectors": fig["vectors"], "mismatches": fig["mismatches"]}]


def main(argv=None, prog=None) -> dict:
    parser = argparse.ArgumentParser(prog=prog or "python -m sim.bench_hw", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one SmartQuant configuration and DRAM model")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    report = {"commit": commit, "date": date.today().isoformat(), "simulator": "verilator",
              "smartquant": smartquant_runs(args.quick), "vmac": vmac_runs(), "act_quant": act_quant_runs()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    for run in report["smartquant"]:
        views = " ".join(f"k={k}:{v['lines_per_cycle']:.3f}/{v['limit']:.3f}" for k, v in run["per_view"].items())
        print(f"smartquant lane {run['config']['lane_bits']} {run['dram'].get('model', run['dram'])}: {views}")
    for name in ("vmac", "act_quant"):
        for run in report[name]:
            print(f"{name} {run['config']}: {run['cycles_per_block']} cycles per block (limit {run['limit']})")
    print(f"written: {OUT}")
    return report


if __name__ == "__main__":
    main()
