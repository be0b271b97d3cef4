"""Functional coverage of the benches, with cocotb-coverage: what a run exercised, in bins.

Each block's coverage model is a module here (``vmac``, ``act_quant``, ``smartquant``): coverpoints
and crosses declared once, and a ``sample`` the bench calls with what it drove and checked. The
coverage database is cocotb-coverage's (one per simulation); :func:`export` writes it as YAML to
the file the runner names in ``$CXLQUANT_COVERAGE`` (``sim.regress`` merges the shards' files).
"""

from __future__ import annotations

import os

__all__ = ["export"]


def export() -> str | None:
    """Write the coverage collected so far to ``$CXLQUANT_COVERAGE`` (if set); its path or None."""
    path = os.environ.get("CXLQUANT_COVERAGE")
    if not path:
        return None
    from cocotb_coverage.coverage import coverage_db
    if len(coverage_db):
        coverage_db.export_to_yaml(path)
        return path
    return None
