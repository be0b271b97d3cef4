"""``python -m verif.formal [--quick] [JOB ...]``: run formal jobs, print each verdict and the summary.

Exits 1 when a job fails. Work directories: ``sim_build/formal/<job>/`` (traces of failures there).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .jobs import JOBS
from .sby import run_sby

BUILD = Path("sim_build") / "formal"


def main(argv=None, prog=None) -> int:
    parser = argparse.ArgumentParser(prog=prog or "python -m verif.formal", description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="*", help="job names (default: all)")
    parser.add_argument("--quick", action="store_true", help="only the jobs `make test` runs")
    args = parser.parse_args(argv)
    known = {job.name for job in JOBS}
    unknown = sorted(set(args.jobs) - known)
    if unknown:
        parser.error(f"unknown job(s) {unknown}; known: {sorted(known)}")
    chosen = [job for job in JOBS if (not args.jobs or job.name in args.jobs) and (job.quick or not args.quick)]
    counts = {"proved": 0, "failed": 0, "bounded": 0}
    for job in chosen:
        checker = job.build()
        verdict = run_sby(job.name, checker, checker.ports, BUILD / job.name, mode=job.mode, depth=job.depth)
        counts[verdict.result] += 1
        print(f"{verdict.line()} — {job.properties}", flush=True)
    print(f"formal: {counts['proved']} proved, {counts['failed']} failed, {counts['bounded']} bounded-only")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
