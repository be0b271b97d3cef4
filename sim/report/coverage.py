"""The report's section on the last sharded regression: vectors, mismatches and functional coverage.

Read from ``sim_build/regress/summary.json`` (written by ``python -m sim.regress``, part of
``make regress``): per block the vectors checked, mismatches, failed shards, the coverage bins
defined and hit, and every missed bin by name (bins unreachable by the spec are not defined, so
they are neither hit nor missed: the coverage models in ``verif/coverage/`` say why each is left out).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["regress_rows", "missed_bins", "section"]


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def regress_rows(summary: dict) -> list[list]:
    """One row per block: block, vectors (with their unit), mismatches, failed of shards, bins hit
    of defined, the share hit, the run's wall time and workers, its commit and date."""
    rows = []
    for name, block in summary["blocks"].items():
        cov = block["coverage"]
        share = f"{100 * cov['hit'] / cov['bins']:.1f} %" if cov["bins"] else "no coverage model"
        rows.append([name, f"{block['vectors']:,} {block['unit']}", block["mismatches"],
                     f"{len(block['failed'])} of {block['shards']}", f"{cov['hit']} of {cov['bins']}", share,
                     f"{block.get('run_wall_s', '–')} s on {block.get('run_workers', '–')}",
                     f"{block.get('commit', '–')} ({block.get('date', '–')})"])
    return rows


def missed_bins(summary: dict) -> list[str]:
    """"block: coverpoint: bin" for every defined bin the regression did not hit."""
    return [f"{name}: {item}: {b}" for name, block in summary["blocks"].items()
            for item, fig in block["coverage"]["items"].items() for b in fig["missed"]]


def section(path: Path, table) -> tuple[list[str], list[str]]:
    """(Markdown lines, HTML parts) of the section; ``table`` is the report's table maker."""
    title = "Sharded regression and functional coverage (`make regress`)"
    summary = _load(path)
    if summary is None:
        text = "No regression summary yet: run `make regress` (or `python -m sim.regress BLOCK ...`)."
        return [f"## {title}", "", text, ""], [f"<h2>{title}</h2><p>{text}</p>"]
    t_md, t_h = table(["block", "vectors", "mismatches", "failed shards", "bins hit", "coverage",
                       "run wall time on workers", "commit (date)"],
                      regress_rows(summary))
    note = (f"The last run of each block (`{_shown(path)}`); a run's wall time covers every block it ran. "
            "Bins the spec makes "
            "unreachable are not defined (the coverage models in `verif/coverage/` name them).")
    missed = missed_bins(summary)
    missed_text = ("Every defined bin was hit." if not missed else
                   "Missed (not hit by the vectors run):")
    md = [f"## {title}", "", note, "", t_md, "", missed_text, *[f"- {m}" for m in missed], ""]
    h = [f"<h2>{title}</h2>", f"<p>{note}</p>", t_h, f"<p>{missed_text}</p>"]
    if missed:
        h.append("<ul>" + "".join(f"<li>{m}</li>" for m in missed) + "</ul>")
    return md, h
