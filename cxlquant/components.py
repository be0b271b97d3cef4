"""The components a user can export by name (``cxlquant verilog NAME``), with their timing.

Each entry names a class of ``hdl/`` and says, in terms of its parameters, how fast it takes
data (the contract its docstring states; measured figures are in ``docs/measurements.md``).
Any other component can be exported by its import path, ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Entry", "COMPONENTS", "resolve"]


@dataclass(frozen=True)
class Entry:
    """A named component: ``target`` is ``module:Class``; ``timing(component)`` gives its
    latency and throughput as the datasheet prints them; ``sections(component)`` further
    Markdown sections; ``convert`` turns command-line values into constructor arguments."""

    target: str
    about: str
    timing: Callable = lambda component: {}
    sections: Callable = lambda component: {}
    convert: dict = field(default_factory=dict)

    def factory(self) -> Callable:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


def _score_widths(value):
    from golden.facts import ScoreWidths
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return ScoreWidths(*value)
    raise ValueError(f"widths must be a pair (fraction_bits, significant_bits), got {value!r}")


def _vmac_timing(c) -> dict:
    return {"throughput": f"one beat ({c.blocks} block pair(s), {16 * c.blocks} element pairs) per cycle; "
                          "a row of n beats every n cycles",
            "latency": f"{c.latency} cycles from a row's last beat to its result"}


def _act_timing(c) -> dict:
    return {"throughput": "one block of 16 activations per cycle",
            "latency": f"{c.latency} cycles from a block's acceptance to its result"}


def _codec_timing(c) -> dict:
    latency = getattr(c, "latency", 0)
    return {"throughput": f"{c.lanes} value(s) per cycle",
            "latency": f"{latency} cycles" if latency else "0 cycles (combinational)"}


def _smartquant_timing(c) -> dict:
    controller = getattr(c, "controller", c)
    spans = controller.spans
    return {"throughput": f"one 64-byte host line every {spans} cycle(s) ({controller.lane_bits}-bit lanes) "
                          "from the read buffer; a stream at view k reads k/8 of the DRAM bursts of INT8 "
                          "(docs/smartquant.md)",
            "read buffer": f"{controller.pool_rows} rows of 8 plane slots of 64 bytes"}


def _register_map(c) -> dict:
    from hdl.smartquant.register_map import markdown_table
    return {"Register map (32-bit words on `regs`)": markdown_table()}


COMPONENTS: dict[str, Entry] = {
    "vmac": Entry("hdl.fgmp_vmac:FGMPVmac", "FGMP vector MAC: NVFP4 / FP8 block dot products, FP32 per row",
                  _vmac_timing),
    "actquant": Entry("hdl.fgmp_act_quant:FGMPActQuant",
                      "FGMP activation quantization unit: NVFP4 or FP8 per block of 16", _act_timing,
                      convert={"widths": _score_widths}),
    "decoder": Entry("hdl.format_decoder:FormatDecoder", "E2M1 / E4M3 / E5M2 codes to unpacked floats", _codec_timing),
    "encoder": Entry("hdl.format_encoder:FormatEncoder", "binary32 to E2M1 / E4M3 / E5M2 codes (RNE)", _codec_timing),
    "lane": Entry("hdl.fgmp_lane:FP8ProductLane", "one exact E4M3 x E4M3 product",
                  lambda c: {"throughput": "one product per cycle"}),
    "smartquant": Entry("hdl.smartquant:SmartQuantDevice",
                        "SmartQuant device: the bit-plane controller over on-chip memory", _smartquant_timing,
                        _register_map),
    "smartquant-controller": Entry("hdl.smartquant:SmartQuantController",
                                   "SmartQuant controller with its DRAM burst port", _smartquant_timing,
                                   _register_map),
}


def resolve(name: str) -> Entry:
    """The entry called ``name``, or an entry for the import path ``module:Class``.

    Raises
    ------
    ValueError
        Neither a known name nor an importable ``module:Class``.
    """
    if name in COMPONENTS:
        return COMPONENTS[name]
    if ":" not in name:
        raise ValueError(f"unknown component {name!r}; known: {sorted(COMPONENTS)} (or give module:Class)")
    entry = Entry(name, "")
    try:
        entry.factory()
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import component {name!r}: {error}") from None
    return entry
