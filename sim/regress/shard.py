"""One shard: an ordinary bench run with the shard's seed and vectors, reduced to a result record.

:func:`run_shard` is what a Dask worker executes. It never raises for a failing bench: the record
says what failed and carries the command that reruns the shard alone.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
import uuid
from pathlib import Path

from ..runner import SEED_VARIABLES, SIM_BUILD, run_bench
from .plan import Shard, block_named

__all__ = ["bench_problems", "run_shard", "COVERAGE_DIR", "REGRESS_DIR"]

REGRESS_DIR = SIM_BUILD / "regress"
COVERAGE_DIR = REGRESS_DIR / "coverage"
SUMMARY_DIR = REGRESS_DIR / "summaries"          # apart from sim_build/summaries, which the report reads
LOG_DIR = REGRESS_DIR / "logs"


def _checked(block_name: str, tests: dict) -> tuple[int, list[str]]:
    """(vectors checked, problems) from a bench summary's tests."""
    problems = [f"{name}: {t['mismatches']} mismatches" for name, t in tests.items() if t.get("mismatches")]
    if block_name.startswith("smartquant"):
        figures = tests.get("random_traffic_with_backpressure", {})
        requests = figures.get("requests", 0)
        answered, dropped = figures.get("transactions", 0), figures.get("dropped_at_resets", 0)
        if answered + dropped != requests:          # every request answered once or dropped by a reset
            problems.append(f"{requests} requests, {answered} answered + {dropped} dropped at resets")
        return requests, problems
    return sum(int(t.get("vectors", 0)) for t in tests.values()), problems


def bench_problems(block_name: str, result) -> tuple[int, list[str]]:
    """(vectors checked, problems) of a :class:`sim.runner.BenchResult`: failed cocotb tests,
    mismatches, a missing summary, requests unaccounted for."""
    tests = result.summary.get("tests", {})
    vectors, problems = _checked(block_name, tests)
    if not result.passed:
        problems.insert(0, f"{result.failures} of {result.tests} cocotb tests failed")
    if not tests:
        problems.append("the bench wrote no summary")
    return vectors, problems


def run_shard(shard: Shard) -> dict:
    """Run ``shard`` and return its record: block, index, seed, vectors, mismatches, problems,
    the coverage file, wall seconds, the worker's host and process, and the rerun command."""
    block = block_named(shard.block)
    for variable in SEED_VARIABLES:                 # the shard's seed is its own
        os.environ.pop(variable, None)
    # Each attempt writes its own files: a worker killed mid-shard may leave its simulator
    # running, and it must not overwrite the files of the attempt that replaces it.
    attempt = uuid.uuid4().hex[:8]
    for folder in (COVERAGE_DIR, LOG_DIR):
        folder.mkdir(parents=True, exist_ok=True)
    coverage = COVERAGE_DIR / f"{shard.block}-{shard.index}-{attempt}.yml"
    log = LOG_DIR / f"{shard.block}-{shard.index}-{attempt}.log"
    record = {"block": shard.block, "index": shard.index, "seed": shard.seed, "planned": shard.vectors,
              "vectors": 0, "mismatches": 0, "problems": [], "coverage": None, "command": shard.command(),
              "log": str(log),
              "host": os.uname().nodename, "pid": os.getpid()}
    started = time.perf_counter()
    try:
        with open(log.with_suffix(".runner.log"), "w") as runner_log, contextlib.redirect_stdout(runner_log):
            result = run_bench(block.name, block.factory, block.params, block.bench, sim=block.simulator,
                               testcase=block.testcase, seed=shard.seed,
                               stimulus={**block.fixed, **block.stimulus(shard.vectors)},
                               label=f"shard{shard.index}-{attempt}", log_file=log,
                               extra_env={"CXLQUANT_COVERAGE": str(coverage)}, summary_dir=SUMMARY_DIR)
        tests = result.summary.get("tests", {})
        vectors, problems = bench_problems(block.name, result)
        record.update(vectors=vectors, problems=problems,
                      mismatches=sum(int(t.get("mismatches", 0)) for t in tests.values()),
                      coverage=str(coverage) if coverage.exists() else None)
    except Exception:                               # a broken build or bench: report, do not lose the shard
        record["problems"].append(traceback.format_exc(limit=4).strip().splitlines()[-1])
    record["wall_s"] = round(time.perf_counter() - started, 3)
    return record
