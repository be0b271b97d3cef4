"""``make report``: golden-model comparison of every scheme on all-MiniLM-L6-v2, plus hardware results.

Writes ``reports/summary.md`` and a self-contained ``reports/index.html``
(plots embedded). Per-scheme results are cached in ``reports/cache/`` keyed by
the scheme, its parameters, the sentences and the golden-model source, so a
rerun only recomputes what changed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import re
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from golden import fgmp, imunpack, metrics, minilm
from golden.bitplane import GROUP, LINE_BYTES, PLANES
from golden.dram import stream_cost
from golden.facts import SCORE_WIDTHS_TRIED
from sim.runner import REPO, SIM_BUILD, SUMMARIES

from . import coverage, schemes
from .fisher import load_fisher
from .sentences import sentences

OUT = REPO / "reports"
REGRESS_SUMMARY = SIM_BUILD / "regress" / "summary.json"      # written by python -m sim.regress
FGMP_FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
FGMP_POLICIES = ("fisher-proxy", "magnitude", "random")
HGQ_BETAS = (1e-9, 1e-8, 1e-7)
UNPACK_BITS = tuple(range(2, 9))


def scheme_list() -> list[tuple[str, str, dict]]:
    """``(label, family, params)`` of every scheme in the report."""
    out = [("FP8 (E4M3, W+A)", "fp8", {}), ("NVFP4 (W+A)", "nvfp4", {}),
           ("MXFP4 (W+A)", "mx", {"elem": "fp4"}), ("MXFP8 (W+A)", "mx", {"elem": "fp8e4m3"})]
    out += [(f"FGMP {policy} {int(f * 100)}% FP8", "fgmp", {"fraction": f, "policy": policy})
            for policy in FGMP_POLICIES for f in FGMP_FRACTIONS]
    out += [(f"SmartQuant k={k}", "smartquant", {"k": k}) for k in range(8, 1, -1)]
    out += [("SmartQuant caps: attention 5, FFN 3", "smartquant", {"caps": "attn5-ffn3"}),
            ("SmartQuant caps: outer layers 6, inner 4", "smartquant", {"caps": "outer6-inner4"})]
    out += [(f"HGQ beta={b:g}", "hgq", {"beta": b}) for b in HGQ_BETAS]
    out += [(f"IM-Unpack RTN int{b} (W+A)", "rtn_unpacked", {"bits": b}) for b in (4, 6, 8)]
    return out


CAP_RULES = {
    "attn5-ffn3": lambda name: 3 if "ffn" in name else 5,
    "outer6-inner4": lambda name: 6 if name.startswith(("layer0.", "layer5.")) else 4,
}


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted([*(REPO / "golden").glob("*.py"), *(REPO / "sim" / "report").glob("*.py")]):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _nn(emb: np.ndarray, k: int = 5) -> np.ndarray:
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1)[:, :k]


def evaluate(model, texts, ref, ref_nn, layers, calib, family, params, fisher_file) -> dict:
    build_params = dict(params)
    if family == "smartquant" and "caps" in params:
        build_params["caps"] = CAP_RULES[params["caps"]]
    if family == "fgmp":
        build_params["fisher_file"] = fisher_file
    start = time.perf_counter()
    qm = schemes.build(family, layers, calib, **build_params)
    emb = model.encode(texts, qm.linear)
    cos = metrics.cosine_similarity(ref, emb)
    nn = _nn(emb)
    n_weights = sum(w.size for w, _ in layers.values())
    per_layer = {name: metrics.sqnr_db(w, qm.weights[name]) for name, (w, _) in layers.items()}
    info = dict(qm.info)
    if "act_fp8_fraction" in info:
        info["act_fp8_fraction"] = float(np.mean(info["act_fp8_fraction"])) if info["act_fp8_fraction"] else 0.0
    return {
        "bits_per_element": sum(qm.weight_bits.values()) / n_weights,
        "weight_bytes_per_token": sum(qm.weight_bits.values()) / 8,
        "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
        "nn_top1_agreement": float((nn[:, 0] == ref_nn[:, 0]).mean()),
        "nn_top5_overlap": float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(nn, ref_nn)])),
        "sqnr_db_mean": float(np.mean(list(per_layer.values()))),
        "sqnr_db_per_layer": per_layer, "info": info, "seconds": time.perf_counter() - start,
    }


def unpack_ratios(layers, calib, rows: int = 64) -> dict:
    """IM-Unpack ratio per layer and bit width on real weights and activations, checked exact."""
    out = {}
    for name, (w, _) in tqdm(layers.items(), desc="IM-Unpack ratios", unit="layer", leave=False):
        x = calib.inputs[name][:rows]
        out[name] = {}
        for b in UNPACK_BITS:
            wi, _ = imunpack.rtn(w, 2 ** b - 1, 0.999)
            xi, _ = imunpack.rtn(x, 2 ** b - 1, 0.999)
            entry = {}
            for strategy in imunpack.STRATEGIES:
                r = imunpack.matmul(xi, wi.T, b, strategy)
                if not np.array_equal(np.asarray(r.product, dtype=np.int64), xi @ wi.T):
                    raise AssertionError(f"IM-Unpack not exact on {name}, b={b}, {strategy}")
                entry[strategy] = r.ratio
            out[name][b] = entry
    return out


SCORE_WIDTHS = SCORE_WIDTHS_TRIED
"""``(F, p)`` of the activation scores the report compares (``docs/numerics.md`` 4.2)."""


def activation_decisions(layers, calib, fraction: float = 0.25) -> dict:
    """How often the unit's integer decision differs from the ideal floating-point one, per score width.

    Ideal: ``sum F_c (Q4 - Q8)**2`` with the unquantized channel sensitivities
    ``F_c = sum_i W_ic**2`` and a float threshold for the same fraction; hardware:
    the unit's narrow integer score with 8-bit codes. Both see the same BF16 inputs,
    power-of-two tensor scale and quantized values, so they differ only through the
    8-bit sensitivities and the score's narrowing.
    """
    widths = [fgmp.ScoreWidths(f, p) for f, p in SCORE_WIDTHS]
    total, differ, distances = 0, [0] * len(widths), [[] for _ in widths]
    for name, (w, _) in layers.items():
        x = fgmp.round_to_input_format(calib.inputs[name], "bf16")
        channel = (w.astype(np.float64) ** 2).sum(0)
        s_t = fgmp.activation_tensor_scale(calib.amax[name])
        ideal_scores = fgmp.block_scores(x, channel, tensor_scale=s_t)
        t_ideal = fgmp.threshold_for_fraction(ideal_scores, fraction)
        ideal = ideal_scores > t_ideal
        total += ideal.size
        for j, wd in enumerate(widths):
            t_hw = fgmp.calibrate_activation_threshold(x, channel, fraction, tensor_scale=s_t, widths=wd)
            mask = fgmp.quantize_activations(x, channel, t_hw, tensor_scale=s_t, widths=wd).modes != ideal
            differ[j] += int(mask.sum())
            distances[j] += list(np.abs(ideal_scores[mask] - t_ideal) / max(t_ideal, 1e-300))
    rows = [{"fraction_bits": wd.fraction_bits, "significant_bits": wd.significant_bits,
             "unit": wd == fgmp.ScoreWidths(), "differ": n, "rate": n / max(total, 1),
             "median_relative_distance": float(np.median(d)) if d else 0.0,
             "max_relative_distance": float(np.max(d)) if d else 0.0}
            for wd, n, d in zip(widths, differ, distances)]
    unit = next(r for r in rows if r["unit"])
    return {"fraction": fraction, "blocks": total, **unit, "widths": rows}


def score_width_area() -> dict[tuple[int, int], int]:
    """LUT4 without DSPs of the activation unit (BF16) per score width, from ``fpga/build/results.json``."""
    path = REPO / "fpga" / "build" / "results.json"
    out = {}
    if path.exists():
        for r in json.loads(path.read_text()).get("results", []):
            name, default = str(r.get("config", "")), fgmp.ScoreWidths()
            match = re.fullmatch(r"actquant-bf16-f(\d)-p(\d+)", name)
            if r.get("lut4_nodsp") and (match or name == "actquant-bf16"):
                widths = (int(match[1]), int(match[2])) if match else (default.fraction_bits, default.significant_bits)
                out.setdefault(widths, int(r["lut4_nodsp"]))
    return out


# ---------------------------------------------------------------------------------- output

def _table(headers: list[str], rows: list[list]) -> tuple[str, str]:
    def cell(v):
        if isinstance(v, float):
            return "inf" if np.isinf(v) else f"{v:.4g}"
        return str(v)
    md = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    md += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    h = ["<table><tr>" + "".join(f"<th>{html.escape(x)}</th>" for x in headers) + "</tr>"]
    h += ["<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in r) + "</tr>" for r in rows]
    return "\n".join(md), "\n".join(h) + "</table>"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def plots(results: dict) -> dict[str, str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figs = {}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, r in results.items():
        fam = label.split()[0]
        both = "W+A" in label or fam == "FGMP"
        ax.scatter(r["bits_per_element"], 1 - r["cosine_mean"], label=fam, s=22, marker="o" if both else "^",
                   color={"FP8": "C0", "NVFP4": "C1", "MXFP4": "C2", "MXFP8": "C3", "FGMP": "C4",
                          "SmartQuant": "C5", "HGQ": "C6", "IM-Unpack": "C7"}.get(fam, "k"))
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    ax.legend(seen.values(), seen.keys(), fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("weight bits per element (scales and metadata included)")
    ax.set_ylabel("1 - mean cosine similarity to FP32")
    ax.set_title("Error against storage cost (o: weights and activations, ^: weights only)")
    figs["pareto"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for policy in FGMP_POLICIES:
        pts = [(f, results[f"FGMP {policy} {int(f * 100)}% FP8"]["cosine_mean"]) for f in FGMP_FRACTIONS]
        ax.plot([p[0] for p in pts], [1 - p[1] for p in pts], marker="o", label=policy)
    ax.set_yscale("log")
    ax.set_xlabel("FP8 block fraction (weights; activations calibrated to the same fraction)")
    ax.set_ylabel("1 - mean cosine similarity to FP32")
    ax.set_title("FGMP fraction sweep by policy")
    ax.legend()
    figs["fgmp"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = list(range(8, 1, -1))
    mb = [results[f"SmartQuant k={k}"]["weight_bytes_per_token"] / 1e6 for k in ks]
    ax.plot(ks, mb, marker="o", color="C5", label="DRAM weight bytes per token")
    ax.set_xlabel("precision k (bit-planes fetched)")
    ax.set_ylabel("MB of weights read per token")
    ax2 = ax.twinx()
    ax2.plot(ks, [results[f"SmartQuant k={k}"]["cosine_mean"] for k in ks], marker="s", color="C1",
             label="mean cosine to FP32")
    ax2.set_ylabel("mean cosine similarity")
    ax.set_title("SmartQuant: traffic and accuracy against precision")
    figs["traffic"] = _png(fig)
    plt.close(fig)
    return figs


def score_width_plot(decisions: dict, area: dict) -> str:
    """Disagreement with the ideal decision against the unit's LUT4, one point per score width."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = decisions["widths"]
    have = [r for r in rows if (r["fraction_bits"], r["significant_bits"]) in area]
    if have:
        xs = [area[(r["fraction_bits"], r["significant_bits"])] for r in have]
        ax.set_xlabel("activation unit (BF16), LUT4 without DSPs")
    else:
        have, xs = rows, list(range(len(rows)))
        ax.set_xlabel("score width (no LUT4 figures in fpga/build/results.json yet)")
    ax.scatter(xs, [100 * r["rate"] for r in have], color=["C3" if r["unit"] else "C0" for r in have])
    for x, r in zip(xs, have):
        ax.annotate(f"F={r['fraction_bits']} p={r['significant_bits']}", (x, 100 * r["rate"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.axhline(0.25, color="grey", linestyle=":", label="0.25 % (goal)")
    ax.set_ylabel("blocks decided unlike the ideal (%)")
    ax.set_title("Activation score width: area against decision quality (red: the unit)")
    ax.legend()
    out = _png(fig)
    plt.close(fig)
    return out


def smartquant_section(summaries) -> tuple[list[str], list[str]]:
    """Per-view DRAM traffic and host throughput of the SmartQuant controller benches."""
    rows = []
    for path in summaries:
        s = json.loads(path.read_text())
        stream = s.get("tests", {}).get("write_then_stream_every_view")
        if not stream or s.get("simulator") != "verilator":
            continue
        params = s.get("params", {})
        for k, fig in sorted(stream["per_view"].items(), key=lambda kv: int(kv[0])):
            rows.append([f"{params.get('n_groups')} groups, {params.get('pool_rows')} pool rows, "
                         f"{params.get('dram_outstanding', 64)} DRAM reads in flight", k,
                         f"{fig['dram_bytes_per_weight']:.3f}", f"{fig['lines_per_cycle']:.3f}",
                         f"{fig['weights_per_cycle']:.1f}", stream.get("dram_latency")])
    if not rows:
        return [], []
    t_md, t_h = _table(["controller", "view k", "DRAM bytes/weight", "host lines/cycle", "weights/cycle",
                        "DRAM latency (cycles)"], rows)
    note = ("Streaming a tensor through view k with DRAM at one burst per cycle; bytes per weight must be "
            "k/8 (INT8 = 1).")
    return (["### SmartQuant controller: traffic and throughput per view", "", note, "", t_md, ""],
            ["<h3>SmartQuant controller: traffic and throughput per view</h3>", f"<p>{note}</p>", t_h])


def dram_token_section(layers) -> tuple[list[str], list[str]]:
    """DRAM time and energy to stream every linear weight of the model once (one decode token),
    per view k and for mixed region caps, on the DDR4-3200 model of ``golden.dram``."""
    weights = sum(w.size for w, _ in layers.values())
    n_groups = -(-weights // GROUP)
    settings = [(f"view {k}", k) for k in range(1, PLANES + 1)]
    settings += [("view 8, cap 4 on 3 of 4 groups", [8 if g % 4 == 0 else 4 for g in range(n_groups)]),
                 ("view 8, cap 2 on 3 of 4 groups", [8 if g % 4 == 0 else 2 for g in range(n_groups)])]
    rows = []
    for label, planes in settings:
        cost = stream_cost(planes, n_groups)
        bursts = cost["counters"].reads
        energy_uj = cost["energy_pj"]["total"] / 1e6
        rows.append([label, bursts, f"{bursts * LINE_BYTES / weights:.3f}", f"{cost['time_ns'] / 1e3:.1f}",
                     f"{energy_uj:.1f}", f"{cost['energy_pj']['activate'] / 1e6:.2f}",
                     f"{cost['row_hit_rate']:.4f}"])
    t_md, t_h = _table(["setting", "DRAM bursts", "bytes/weight", "time per token (µs)", "energy per token (µJ)",
                        "of which activates (µJ)", "row-hit rate"], rows)
    note = (f"The {weights:,} linear weights of the model ({n_groups:,} groups of 512) read once, in order, "
            "as fast as one DDR4-3200 x64 rank allows (`golden.dram.stream_cost`: open-page banks, refresh, "
            "IDD-based energies; background power included). Time and energy fall with the planes fetched.")
    title = "SmartQuant: DRAM time and energy per token"
    return ([f"### {title}", "", note, "", t_md, ""], [f"<h3>{title}</h3>", f"<p>{note}</p>", t_h])


def bench_hw_section() -> tuple[list[str], list[str]]:
    """Measured hardware throughput (``make bench`` writes ``reports/bench_hw.json``)."""
    path = REPO / "reports" / "bench_hw.json"
    title = "Hardware throughput over long streams (`make bench`)"
    if not path.exists():
        return [f"### {title}", "", "No `reports/bench_hw.json` yet: run `make bench`.", ""], \
               [f"<h3>{title}</h3><p>No reports/bench_hw.json yet: run make bench.</p>"]
    data = json.loads(path.read_text())
    rows = []
    for run in data.get("smartquant", []):
        dram = run["dram"]
        label = f"{dram['model']}, {dram['bursts_per_cycle']:g} burst/cycle"
        for k, fig in run["per_view"].items():
            rows.append([f"SmartQuant {run['config']['lane_bits']}-bit lanes, {run['config']['pool_rows']} pool rows",
                         label, k, fig["lines"], f"{fig['lines_per_cycle']:.3f}", f"{fig['limit']:.3f}",
                         f"{fig['fraction_of_limit']:.3f}", fig.get("row_hit_rate", "–")])
    t_md, t_h = _table(["block", "DRAM model", "view k", "lines", "lines/cycle", "limit", "fraction", "row-hit rate"],
                       rows)
    other = [[name, json.dumps(run["config"]), json.dumps(run["cycles_per_block"]), run["limit"]]
             for name in ("vmac", "act_quant") for run in data.get(name, [])]
    o_md, o_h = _table(["block", "configuration", "cycles per block", "limit"], other)
    note = f"Measured at commit {data.get('commit')} ({data.get('date')}), {data.get('simulator')}."
    return ([f"### {title}", "", note, "", t_md, "", o_md, ""], [f"<h3>{title}</h3>", f"<p>{note}</p>", t_h, o_h])


def hardware_section(layers) -> tuple[list[str], list[str]]:
    md, h = [], []
    summaries = sorted(SUMMARIES.glob("*.json")) if SUMMARIES.exists() else []
    rows = []
    for path in summaries:
        s = json.loads(path.read_text())
        for test, fig in s.get("tests", {}).items():
            rows.append([s.get("bench"), s.get("simulator"), test, fig.get("vectors", fig.get("transactions", "")),
                         fig.get("mismatches", ""), fig.get("cycles_per_block", ""), s.get("seed")])
    if rows:
        t_md, t_h = _table(["bench", "simulator", "test", "vectors / transactions", "mismatches", "cycles/block",
                            "seed"], rows)
        md += ["## Hardware against the golden model", "",
               "From the last bench runs (`make test` / `make regress`), `sim_build/summaries/`.", "", t_md, ""]
        h += ["<h2>Hardware against the golden model</h2>", t_h]
        sq_md, sq_h = smartquant_section(summaries)
        md += sq_md
        h += sq_h
    else:
        md += ["## Hardware against the golden model", "", "No bench summaries yet: run `make test`.", ""]
        h += ["<h2>Hardware against the golden model</h2><p>No bench summaries yet: run <code>make test</code>.</p>"]
    for section in (bench_hw_section(), dram_token_section(layers)):
        md += section[0]
        h += section[1]
    cov_md, cov_h = coverage.section(REGRESS_SUMMARY, _table)
    md += cov_md
    h += cov_h
    synth = REPO / "fpga" / "build" / "results.json"
    if synth.exists():
        data = json.loads(synth.read_text())
        rows = [[r.get("config"), r.get("lut4"), r.get("ff"), r.get("dsp"), r.get("bram"),
                 r.get("fmax_mhz") if r.get("fmax_mhz") is not None else r.get("pnr", "–"),
                 f"{r['fmax_best_mhz']} (seed {r['best_seed']})" if r.get("fmax_best_mhz") is not None else "–",
                 len(r.get("fmax_by_seed") or {}) or "–"]
                for r in data.get("results", [])]
        t_md, t_h = _table(["configuration", "LUT4", "FF", "DSP", "BRAM", "Fmax MHz (routed, median of seeds)",
                            "best (seed)", "seeds"], rows)
        md += ["## Area and Fmax (ECP5)", "", t_md, ""]
        h += ["<h2>Area and Fmax (ECP5)</h2>", t_h]
    return md, h


def main(argv=None, prog=None) -> None:
    parser = argparse.ArgumentParser(prog=prog or "python -m sim.report", description=__doc__)
    parser.add_argument("--fisher", type=Path, help="npz of real Fisher tensors keyed by layer name "
                                                    "(e.g. layer0.query), replacing the weight proxy")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    model = minilm.load()
    layers = model.linear_layers()
    fisher = None
    if args.fisher:
        try:
            fisher = load_fisher(args.fisher, layers, model.checkpoint_names())
        except ValueError as error:
            parser.error(f"--fisher: {error}")
    fisher_file = fisher.tensors if fisher else None
    cache = OUT / "cache"
    cache.mkdir(parents=True, exist_ok=True)

    texts = sentences()
    ref = model.encode(texts)
    norms = np.linalg.norm(ref, axis=1)
    ref_nn = _nn(ref)
    paraphrase = float(ref[0] @ ref[1]), float(ref[0] @ ref[6])        # guitar/guitar vs guitar/stocks
    calib = schemes.calibrate(model, texts)
    digest = _source_digest() + (hashlib.sha256(args.fisher.read_bytes()).hexdigest()[:8] if args.fisher else "")

    results = {}
    for label, family, params in tqdm(scheme_list(), desc="schemes", unit="scheme"):
        key = hashlib.sha256(json.dumps([family, params, digest, len(texts)], sort_keys=True).encode()).hexdigest()[:16]
        path = cache / f"{key}.json"
        if path.exists() and not args.no_cache:
            results[label] = json.loads(path.read_text())
            continue
        results[label] = evaluate(model, texts, ref, ref_nn, layers, calib, family, params, fisher_file)
        path.write_text(json.dumps(results[label]))
    unpack_path = cache / f"unpack-{digest}.json"
    if unpack_path.exists() and not args.no_cache:
        ratios = json.loads(unpack_path.read_text())
    else:
        ratios = unpack_ratios(layers, calib)
        unpack_path.write_text(json.dumps(ratios))

    decisions_path = cache / f"decisions-{digest}.json"
    if decisions_path.exists() and not args.no_cache:
        decisions = json.loads(decisions_path.read_text())
    else:
        decisions = activation_decisions(layers, calib)
        decisions_path.write_text(json.dumps(decisions))
    write(results, ratios, decisions, layers, norms, paraphrase, len(texts), fisher)


def sensitivity(fisher) -> tuple[str, list[list[str]]]:
    """The FGMP weight policy's sensitivity: one line, and a row per layer when a Fisher file
    covers only some layers (empty otherwise)."""
    proxy = ("*layer-output-error proxy*: `E[x_j^2]` per input channel for weights, `sum_i W_ic^2` for "
             "activations")
    if fisher is None:
        return ("Sensitivity: **no Fisher information is available** (no training loss); FGMP uses a "
                + proxy + ". Weight blocks use one global threshold; activation thresholds are calibrated "
                "per layer to the same fraction."), []
    covered, uncovered = fisher.covered, fisher.uncovered
    line = (f"Sensitivity: the Fisher file `{fisher.path.name}` for the weights of {len(covered)} of "
            f"{len(fisher.coverage)} layers" + (f" (the other {len(uncovered)} use the {proxy}; see the table "
                                               f"of sensitivity per layer)." if uncovered else ".")
            + " Activations use `sum_i W_ic^2` per channel.")
    rows = [[name, "Fisher file" if yes else "proxy (not in the file)"] for name, yes in fisher.coverage.items()]
    return line, rows if uncovered else []


def write(results, ratios, decisions, layers, norms, paraphrase, n_texts, fisher) -> None:
    sensitivity_line, sensitivity_rows = sensitivity(fisher)
    md = ["# cxlquant report: quantization schemes on all-MiniLM-L6-v2", "",
          f"Model: all-MiniLM-L6-v2 (6 layers, hidden 384, FFN 1536), NumPy forward pass, {len(layers)} "
          f"linear layers, {sum(w.size for w, _ in layers.values()):,} weights. {n_texts} fixed sentences.",
          f"FP32 check: embedding norms in [{norms.min():.6f}, {norms.max():.6f}]; paraphrase cosine "
          f"{paraphrase[0]:.3f} against unrelated {paraphrase[1]:.3f}.", "",
          sensitivity_line, "",
          "W+A: weights and activations quantized; other rows quantize weights only. Bits per element "
          "count element bits, scales and mode bits. Weight bytes per token: every weight read once per "
          "token at batch 1.", ""]
    rows = [[label, r["bits_per_element"], r["weight_bytes_per_token"] / 1e6, r["sqnr_db_mean"],
             r["cosine_mean"], r["cosine_min"], r["nn_top1_agreement"], r["nn_top5_overlap"]]
            for label, r in results.items()]
    summary_md, summary_h = _table(["scheme", "bits/elem", "weight MB/token", "weight SQNR dB (mean)",
                                    "cosine mean", "cosine min", "NN top-1 agree", "NN top-5 overlap"], rows)
    md += ["## Summary", "", summary_md, ""]
    sens_md, sens_h = _table(["layer", "weight sensitivity"], sensitivity_rows)
    if sensitivity_rows:
        md += ["## Weight sensitivity per layer", "", sens_md, ""]
    fgmp_rows = [[label, r["info"].get("weight_fp8_fraction"), r["info"].get("act_fp8_fraction"),
                  r["bits_per_element"], r["cosine_mean"]] for label, r in results.items() if label.startswith("FGMP")]
    fgmp_md, fgmp_h = _table(["scheme", "weight FP8 fraction", "activation FP8 fraction (run time)",
                              "bits/elem", "cosine mean"], fgmp_rows)
    md += ["## FGMP fraction sweep", "", fgmp_md, ""]
    decision_line = (f"On the real layer inputs ({decisions['blocks']:,} BF16 blocks, {decisions['fraction']:.0%} FP8), "
                     f"the activation unit's integer decision (narrow score, small-float channel sensitivities) differs from the ideal "
                     f"floating-point decision in {decisions['differ']} blocks ({decisions['rate']:.3%}); those "
                     f"blocks' ideal scores lie at a median {decisions['median_relative_distance']:.2%} (at most "
                     f"{decisions['max_relative_distance']:.2%}) from the ideal threshold.")
    area = score_width_area()
    width_rows = [[f"F={r['fraction_bits']}, p={r['significant_bits']}" + (" (the unit)" if r["unit"] else ""),
                   r["differ"], f"{r['rate']:.3%}", f"{r['median_relative_distance']:.2%}",
                   area.get((r["fraction_bits"], r["significant_bits"]), "–")] for r in decisions["widths"]]
    width_md, width_h = _table(["score widths", "blocks that differ", "disagreement", "median distance to threshold",
                                "LUT4 without DSPs (BF16 unit)"], width_rows)
    area_note = ("LUT4 from `fpga/build/results.json`; a '–' means that configuration has not been run: "
                 "`.venv/bin/python -m fpga.flow actquant-bf16 " + " ".join(f"actquant-bf16-f{f}-p{p}" for f, p in SCORE_WIDTHS
                                                                 if (f, p) != (fgmp.ScoreWidths().fraction_bits,
                                                                                fgmp.ScoreWidths().significant_bits))
                 + "`.")
    md += ["### Activation decisions: hardware rule against the ideal", "", decision_line, "",
           "Per score width (`docs/numerics.md` 4.2: `F` fraction bits below the block scale's grid, `p` "
           "significant bits kept of each difference):", "", width_md, "", area_note, ""]
    detail = ["FP8 (E4M3, W+A)", "NVFP4 (W+A)", "MXFP4 (W+A)", "FGMP fisher-proxy 25% FP8", "SmartQuant k=4",
              f"HGQ beta={HGQ_BETAS[1]:g}"]
    layer_rows = [[name] + [results[d]["sqnr_db_per_layer"][name] for d in detail] for name in layers]
    layer_md, layer_h = _table(["layer"] + detail, layer_rows)
    md += ["## Weight SQNR per layer (dB)", "", layer_md, ""]
    unpack_rows = [[name] + [ratios[name][str(b) if str(b) in ratios[name] else b][s]
                             for b in (2, 4, 8) for s in imunpack.STRATEGIES] for name in layers]
    unpack_md, unpack_h = _table(["layer"] + [f"b={b} {s}" for b in (2, 4, 8) for s in imunpack.STRATEGIES],
                                 unpack_rows)
    md += ["## IM-Unpack ratio per layer", "",
           "RTN (beta = 2^b - 1, p = 0.999, no clipping) on the real weights and 64 calibration activation "
           "rows per layer; ratio = unpacked GEMM size / original (A = activations, B = weights). Every "
           "product was checked equal to the integer GEMM.", "", unpack_md, ""]
    figs = plots(results)
    figs["score_widths"] = score_width_plot(decisions, area)
    hw_md, hw_h = hardware_section(layers)
    md += hw_md
    OUT.mkdir(exist_ok=True)
    (OUT / "summary.md").write_text("\n".join(md))
    for name, data in figs.items():
        (OUT / f"{name}.png").write_bytes(base64.b64decode(data))
    body = ["<h1>cxlquant report: quantization schemes on all-MiniLM-L6-v2</h1>"]
    body += [f"<p>{html.escape(line)}</p>" for line in md[2:9] if line]
    body += ["<h2>Summary</h2>", summary_h]
    if sensitivity_rows:
        body += ["<h2>Weight sensitivity per layer</h2>", sens_h]
    body += [
             f'<h2>Plots</h2><img src="data:image/png;base64,{figs["pareto"]}">'
             f'<img src="data:image/png;base64,{figs["fgmp"]}"><img src="data:image/png;base64,{figs["traffic"]}">'
             f'<img src="data:image/png;base64,{figs["score_widths"]}">',
             "<h2>FGMP fraction sweep</h2>", fgmp_h, f"<p>{html.escape(decision_line)}</p>", width_h,
             f"<p>{html.escape(area_note)}</p>", "<h2>Weight SQNR per layer (dB)</h2>", layer_h,
             "<h2>IM-Unpack ratio per layer</h2>", unpack_h] + hw_h
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
             "font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:49%}")
    (OUT / "index.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>cxlquant report"
                                    f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>")
    print(f"\nreport written: {OUT / 'index.html'}\n                {OUT / 'summary.md'}")


if __name__ == "__main__":
    main()
