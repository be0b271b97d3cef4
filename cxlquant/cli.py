"""``cxlquant``: one command for the project's jobs (the Makefile's targets call it).

``cxlquant verilog`` exports a component; the other subcommands hand their arguments to the
module that does the job (``cxlquant report --help`` is that module's help).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from pathlib import Path

from . import __version__
from .components import COMPONENTS, resolve

__all__ = ["main", "SUBCOMMANDS"]

# subcommand -> (module whose main(argv, prog) does it, one line of help)
SUBCOMMANDS = {
    "verilog": (None, "a component with any parameters as Verilog, with its datasheet (Markdown and JSON)"),
    "report": ("sim.report.__main__", "the golden-model comparison report (reports/index.html, summary.md)"),
    "bench": (None, "throughput: `bench golden` (NumPy model), `bench hw` (simulated hardware), or both"),
    "synth": ("fpga.flow", "area and Fmax on open FPGA toolchains (fpga/build/results.md)"),
    "regress": ("sim.regress.__main__", "the sharded random regression on Dask, with coverage"),
    "formal": ("verif.formal.__main__", "the formal jobs (SymbiYosys): proved, failed, bounded-only"),
    "mutants": ("verif.mutants", "the mutation score of the benches"),
    "bitstream": ("fpga.board.build", "a ULX3S 85F bitstream of the SmartQuant device and the VMAC"),
}
_BENCHES = {"golden": "golden.bench", "hw": "sim.bench_hw"}


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="cxlquant", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Quantization hardware for LLM inference: golden model, RTL, benches, flow and report.",
        epilog=f"subcommands:\n{lines}\n\n`cxlquant SUBCOMMAND --help` tells more.")
    parser.add_argument("--version", action="version", version=f"cxlquant {__version__}")
    parser.add_argument("subcommand", choices=list(SUBCOMMANDS), metavar="SUBCOMMAND")
    return parser


def _run_module(module: str, argv: list[str], prog: str) -> int:
    result = importlib.import_module(module).main(argv, prog=prog)
    return result if isinstance(result, int) else 0


# --- cxlquant verilog -------------------------------------------------------------------------

def _verilog_parser() -> argparse.ArgumentParser:
    known = "\n".join(f"  {name:<22} {entry.about}" for name, entry in COMPONENTS.items())
    parser = argparse.ArgumentParser(
        prog="cxlquant verilog", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Elaborate a component with the given parameters and write TOP.v (Verilog, top module "
                    "TOP), TOP.md and TOP.json (its datasheet: parameters, ports, payload bit fields, "
                    "latency, throughput).",
        epilog=f"components:\n{known}\n  package.module:Class   any other wiring.Component\n\n"
               "`cxlquant verilog COMPONENT --params` lists a component's parameters. Values are Python "
               "literals (blocks=2, widths=(1,4), saturate=False); anything else is a string (variant=fp8).")
    parser.add_argument("component", metavar="COMPONENT", help="a name above, or package.module:Class")
    parser.add_argument("assignments", nargs="*", metavar="NAME=VALUE", help="constructor parameters")
    parser.add_argument("--top", help="top module name and file stem (default: the component name, '-' as '_')")
    parser.add_argument("--out", type=Path, default=Path("."), help="output directory (default: the current one)")
    parser.add_argument("--params", action="store_true", help="list the component's parameters, write nothing")
    return parser


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_assignments(assignments: list[str]) -> dict:
    """``["blocks=2", "variant=fp8"]`` -> ``{"blocks": 2, "variant": "fp8"}``.

    Raises
    ------
    ValueError
        An item without ``=``, or a name given twice.
    """
    params = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"parameter {item!r} is not NAME=VALUE")
        if name in params:
            raise ValueError(f"parameter {name!r} given twice")
        params[name] = _value(text)
    return params


def export(component: str, params: dict, out: Path, top: str | None = None) -> dict[str, Path]:
    """Write ``TOP.v``, ``TOP.md`` and ``TOP.json`` of ``component(**params)`` into ``out``.

    Returns the three paths by suffix. Raises ``ValueError`` naming a bad component, an unknown
    parameter (with the accepted ones) or a value the component refuses.
    """
    import inspect

    from hdl.datasheet import datasheet, markdown
    from sim.runner import to_verilog

    entry = resolve(component)
    factory = entry.factory()
    accepted = inspect.signature(factory).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
    unknown = [name for name in params if name not in accepted and not takes_any]
    if unknown:
        names = [n for n, p in accepted.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        raise ValueError(f"{component}: unknown parameter(s) {unknown}; accepted: {names}")
    args = {name: entry.convert[name](value) if name in entry.convert else value for name, value in params.items()}
    try:
        instance = factory(**args)
    except TypeError as error:
        raise ValueError(f"{component}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{component}: {error}") from None
    top = top or component.rpartition(":")[2].replace("-", "_").replace(".", "_")
    if not top.isidentifier():
        raise ValueError(f"--top must be a Verilog identifier, got {top!r}")
    verilog = to_verilog(lambda: instance, {}, name=top)
    sheet = datasheet(instance, name=top, factory=factory, params=params, timing=entry.timing(instance),
                      sections=entry.sections(instance), verilog=verilog)
    out.mkdir(parents=True, exist_ok=True)
    paths = {suffix: out / f"{top}{suffix}" for suffix in (".v", ".md", ".json")}
    paths[".v"].write_text(verilog)
    paths[".md"].write_text(markdown(sheet))
    paths[".json"].write_text(json.dumps(sheet, indent=1) + "\n")
    return paths


def _verilog(argv: list[str]) -> int:
    parser = _verilog_parser()
    args = parser.parse_args(argv)
    try:
        if args.params:
            import inspect
            entry = resolve(args.component)
            for name, parameter in inspect.signature(entry.factory()).parameters.items():
                if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                    print(f"{name}: see the class's docstring ({entry.target})")
                    continue
                default = "required" if parameter.default is parameter.empty else f"default {parameter.default!r}"
                print(f"{name} ({default})")
            return 0
        paths = export(args.component, parse_assignments(args.assignments), args.out, args.top)
    except ValueError as error:
        parser.error(str(error))
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _bench(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print("usage: cxlquant bench [golden|hw] [ARGS ...]\n\nThroughput benchmarks: `golden` (the NumPy "
              "model on a 4096 x 4096 matrix, reports/bench_golden.json), `hw` (the simulated hardware over "
              "long streams, reports/bench_hw.json); with neither, both in turn, without arguments.\n"
              "`cxlquant bench golden --help` and `cxlquant bench hw --help` give their options.")
        return 0
    if argv and argv[0] in _BENCHES:
        return _run_module(_BENCHES[argv[0]], argv[1:], f"cxlquant bench {argv[0]}")
    if argv:
        print(f"cxlquant bench: error: unknown bench {argv[0]!r}; choose from {sorted(_BENCHES)}", file=sys.stderr)
        return 2
    return max(_run_module(module, [], f"cxlquant bench {name}") for name, module in _BENCHES.items())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _top_parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv)                       # --help, --version, or the error naming what is missing
        return 2
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        parser.error(f"unknown subcommand {name!r}; choose from {', '.join(SUBCOMMANDS)}")
    if name == "verilog":
        return _verilog(rest)
    if name == "bench":
        return _bench(rest)
    return _run_module(SUBCOMMANDS[name][0], rest, f"cxlquant {name}")
