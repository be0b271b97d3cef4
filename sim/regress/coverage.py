"""Merging the shards' functional coverage (cocotb-coverage YAML) and counting the bins hit."""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["merge", "bins_summary"]


def merge(files: list[str | Path], out: Path) -> Path | None:
    """Merge the shards' coverage files into ``out`` with cocotb-coverage's own merger (hits add
    up bin by bin); None when no shard wrote coverage."""
    from cocotb_coverage.coverage import merge_coverage
    files = [str(f) for f in files if f and Path(f).exists()]
    if not files:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    merge_coverage(lambda message: None, str(out), *files)
    return out


def bins_summary(path: Path | None) -> dict:
    """Per coverpoint and cross of a (merged) coverage file: bins defined, bins hit (at least
    ``at_least`` hits), the bins missed by name; and the totals over all of them."""
    if path is None:
        return {"bins": 0, "hit": 0, "items": {}}
    db = yaml.safe_load(Path(path).read_text()) or {}
    items, bins, hit = {}, 0, 0
    for name, item in sorted(db.items()):
        hits = item.get("bins:_hits")
        if hits is None:                                  # a group node: its children are counted
            continue
        at_least = int(item.get("at_least", 1))
        missed = [str(b) for b, n in hits.items() if n < at_least]
        items[name] = {"bins": len(hits), "hit": len(hits) - len(missed), "missed": missed}
        bins, hit = bins + len(hits), hit + len(hits) - len(missed)
    return {"bins": bins, "hit": hit, "items": items}
