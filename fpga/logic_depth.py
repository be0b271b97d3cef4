"""Deepest combinational paths of a synthesized ECP5 netlist, in logic levels, before place and route.

``python -m fpga.logic_depth fpga/build/<config>-<key>/ecp5.json [--top N]`` reads the Yosys
JSON netlist of the flow and counts, for every flip-flop or memory input, the logic cells on the
longest path from a flip-flop, memory or port: a LUT4, a PFU multiplexer or a whole carry chain
(CCU2C cells joined by their carries) counts one level, a distributed-RAM read one. It prints the
deepest endpoints with the source lines (Yosys ``src`` attributes) of the cells on the path. A
routed critical path needs nextpnr; this finds candidates in seconds.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

SEQUENTIAL = {"TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_IO", "DCCA", "EHXPLLL"}
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

    @lru_cache(maxsize=None)
    def depth(name) -> tuple[int, tuple[str, ...]]:
        cell = cells[name]
        if cell["type"] not in LOGIC:
            return 0, ()
        best = (0, ())
        for port, driver in inputs(name):
            d, path = depth(driver)
            if cells[name]["type"] == "CCU2C" and port == "CIN":
                d -= 1                                        # a carry chain is one level
            if d > best[0]:
                best = (d, path)
        return best[0] + 1, best[1] + (name,)

    import sys
    sys.setrecursionlimit(100_000)
    ends = []
    for name, cell in cells.items():
        if cell["type"] in SEQUENTIAL:
            for port, driver in inputs(name):
                d, path = depth(driver)
                ends.append((d, name, port, path))
    ends.sort(key=lambda e: -e[0])
    out = []
    for d, name, port, path in ends[:top]:
        srcs = []
        for cell in path + (name,):
            parts = cells[cell].get("attributes", {}).get("src", "?").split("|")
            src = next((x for x in parts if "/share/" not in x), parts[0]).rsplit("/", 1)[-1]
            if not srcs or srcs[-1] != src:
                srcs.append(src)
        out.append((d, [f"{name}.{port}"] + srcs))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("netlist", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    for d, path in analyse(json.loads(args.netlist.read_text()), args.top):
        print(f"{d} levels -> {path[0]}")
        for src in path[1:]:
            print(f"    {src}")


if __name__ == "__main__":
    main()
