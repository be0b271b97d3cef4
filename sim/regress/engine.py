"""Running shards on Dask distributed and merging their records into one summary per block.

The engine is Dask's: :func:`connect` starts a ``LocalCluster`` (one single-threaded worker process
per core; nothing to start beforehand) or joins an existing scheduler. A shard is one task; Dask
reruns the task of a worker that dies on another worker, and :func:`merge` keeps one record per
shard, so nothing is lost or counted twice.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

from ..cluster import SCHEDULER_VARIABLE, connect
from .coverage import bins_summary, merge as merge_coverage
from .plan import Shard, block_named
from .shard import REGRESS_DIR, run_shard

__all__ = ["SCHEDULER_VARIABLE", "connect", "run_shards", "merge", "write_summary"]

def run_shards(client, shards: list[Shard], progress: bool = True) -> list[dict]:
    """Submit every shard as one task and gather the records as they finish (a progress bar)."""
    from dask.distributed import as_completed
    from tqdm import tqdm
    token = f"{time.time_ns():x}"
    futures = [client.submit(run_shard, shard, key=f"shard-{shard.block}-{shard.index}-{token}", pure=False)
               for shard in shards]
    records = []
    with tqdm(total=len(futures), unit="shard", disable=not progress, desc="regress") as bar:
        for future in as_completed(futures):
            record = future.result()
            records.append(record)
            bar.set_postfix_str(f"{record['block']}#{record['index']}")
            bar.update()
    return records


def merge(records: list[dict], out_dir: Path = REGRESS_DIR) -> dict:
    """One summary per block: vectors checked, mismatches, shards, their seeds, the failed shards
    with the command that reruns each, worker time, and the merged coverage with its bins hit."""
    by_block: dict[str, dict[int, dict]] = defaultdict(dict)
    for record in records:
        by_block[record["block"]].setdefault(record["index"], record)      # one record per shard
    summary = {}
    for name, shards in sorted(by_block.items()):
        rows = [shards[i] for i in sorted(shards)]
        merged = merge_coverage([r["coverage"] for r in rows], out_dir / f"coverage-{name}.yml")
        worker_s = sum(r["wall_s"] for r in rows)
        vectors = sum(r["vectors"] for r in rows)
        summary[name] = {
            "unit": block_named(name).unit, "shards": len(rows), "vectors": vectors,
            "planned": sum(r["planned"] for r in rows), "mismatches": sum(r["mismatches"] for r in rows),
            "failed": [{k: r[k] for k in ("index", "seed", "problems", "command", "log")} for r in rows if r["problems"]],
            "seeds": [r["seed"] for r in rows], "worker_s": round(worker_s, 1),
            "vectors_per_worker_s": round(vectors / worker_s, 1) if worker_s else None,
            "hosts": sorted({f"{r['host']}:{r['pid']}" for r in rows}),
            "coverage_file": str(merged) if merged else None, "coverage": bins_summary(merged)}
    return summary


def _commit() -> str:
    import subprocess
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parents[2],
                           capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def write_summary(summary: dict, wall_s: float, workers: int, out_dir: Path = REGRESS_DIR) -> Path:
    """``out_dir/summary.json``: the blocks' summaries, each with its run's wall time, workers,
    commit and date. Blocks not in this run keep their last run's summary, so the file (and the
    report) covers every block run so far."""
    import datetime
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    blocks = json.loads(path.read_text()).get("blocks", {}) if path.exists() else {}
    run = {"run_wall_s": round(wall_s, 1), "run_workers": workers, "commit": _commit(),
           "date": datetime.date.today().isoformat()}
    blocks.update({name: {**block, **run} for name, block in summary.items()})
    path.write_text(json.dumps({"wall_s": round(wall_s, 1), "workers": workers, "blocks": dict(sorted(blocks.items()))},
                               indent=1))
    return path
