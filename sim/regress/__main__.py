"""``python -m sim.regress``: the sharded regression, on a local Dask cluster or an existing one."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .engine import SCHEDULER_VARIABLE, connect, merge, run_shards, write_summary
from .plan import BLOCKS, block_named, plan_shards
from .shard import run_shard

DEFAULT_VECTORS = 1_000_000
DEFAULT_SEED = 1


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive integer")
    return value


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "python -m sim.regress",
        description="Random regression of every block, split into seeded shards (each an ordinary bench run "
                    "that reuses its configuration's simulator build) and run on Dask distributed: a local "
                    "cluster with one worker per core by default, or an existing scheduler with --scheduler "
                    f"(or ${SCHEDULER_VARIABLE}). Results and coverage merge into one summary per block "
                    "(sim_build/regress/summary.json, coverage-BLOCK.yml); a failing shard prints the command "
                    "that reruns it alone. Exit status 1 on any mismatch or failed shard.")
    p.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks to run (default: all; --list names them)")
    p.add_argument("--vectors", type=_positive, default=DEFAULT_VECTORS,
                   help=f"vectors per block (default {DEFAULT_VECTORS:,})")
    p.add_argument("--shard-vectors", type=_positive, help="vectors per shard (default: the block's own)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed; each shard's follows from it")
    p.add_argument("--workers", type=_positive, help="local cluster size (default: one worker per core)")
    p.add_argument("--scheduler", help=f"address of a running Dask scheduler, e.g. tcp://HOST:8786 (or ${SCHEDULER_VARIABLE})")
    p.add_argument("--shard", type=int, metavar="INDEX", help="run this shard of one block here, without a cluster")
    p.add_argument("--list", action="store_true", help="list the blocks and their shards, run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _line(name: str, block: dict) -> str:
    cov = block["coverage"]
    return (f"regress {name}: {block['vectors']:,} {block['unit']}, {block['mismatches']} mismatches, "
            f"{len(block['failed'])} failed of {block['shards']} shards, coverage {cov['hit']} of {cov['bins']} bins")


def main(argv=None, prog=None) -> int:
    args = parser(prog).parse_args(argv)
    try:
        chosen = [block_named(name) for name in args.blocks] or BLOCKS
        plans = {b.name: plan_shards(b, args.vectors, args.seed, args.shard_vectors) for b in chosen}
    except ValueError as error:
        parser(prog).error(str(error))
    if args.list:
        for block in chosen:
            shards = plans[block.name]
            print(f"{block.name}: {len(shards)} shards of up to {shards[0].vectors:,} {block.unit} ({block.bench})")
        return 0
    if args.shard is not None:
        if len(chosen) != 1:
            parser(prog).error("--shard needs exactly one BLOCK")
        shards = plans[chosen[0].name]
        if not 0 <= args.shard < len(shards):
            parser(prog).error(f"--shard {args.shard}: {chosen[0].name} has shards 0..{len(shards) - 1}")
        record = run_shard(shards[args.shard])
        print(json.dumps(record, indent=1))
        return 1 if record["problems"] else 0
    shards = [s for block in chosen for s in plans[block.name]]
    started = time.perf_counter()
    with connect(args.scheduler, args.workers) as client:
        workers = len(client.scheduler_info()["workers"])
        print(f"regress: {len(shards)} shards of {len(chosen)} blocks on {workers} Dask workers "
              f"({client.scheduler.address})", flush=True)
        records = run_shards(client, shards, progress=not args.no_progress)
    wall = time.perf_counter() - started
    summary = merge(records)
    path = write_summary(summary, wall, workers)
    failed = False
    for name, block in summary.items():
        print(_line(name, block))
        for item, fig in block["coverage"]["items"].items():
            for missed in fig["missed"]:
                print(f"  coverage bin missed: {item}: {missed}")
        for shard in block["failed"]:
            failed = True
            print(f"  shard {shard['index']} (seed {shard['seed']}): {'; '.join(shard['problems'])}\n"
                  f"    log: {shard['log']}\n    rerun: {shard['command']}")
        failed |= block["mismatches"] > 0
    print(f"regress: {wall:.0f} s wall on {workers} workers; summary {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
