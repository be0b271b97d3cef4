"""Datasheet of a component: its Verilog ports, the bit fields inside them, parameters and timing.

:func:`datasheet` reads an elaboratable :class:`amaranth.lib.wiring.Component` (nothing is
simulated): every member of its signature becomes the Verilog port Amaranth's back end names
it (the member path joined with ``__``: ``i__payload``, ``host__req__valid``), with its
direction and width, and a port whose shape is a :mod:`amaranth.lib.data` layout is listed
field by field, down to plain values, as bit ranges of that port. The result is plain data
(JSON-ready); :func:`markdown` renders it.
"""

from __future__ import annotations

import enum
import inspect
import re

from amaranth.hdl import Shape
from amaranth.lib import data, wiring

__all__ = ["datasheet", "fields", "markdown", "parameters", "verilog_ports"]

_DIRECTION = {wiring.In: "input", wiring.Out: "output"}


def _shape_text(shape) -> str:
    """``unsigned(8)``, ``signed(5)``, or an enum's name with its members."""
    if isinstance(shape, type) and issubclass(shape, enum.Enum):
        members = ", ".join(f"{member.name}={member.value}" for member in shape)
        return f"{shape.__name__} ({members})"
    cast = Shape.cast(shape)
    return f"{'signed' if cast.signed else 'unsigned'}({cast.width})"


def _layout(shape):
    """``shape`` as a :class:`amaranth.lib.data.Layout`, or ``None`` for a plain value or an enum."""
    try:
        return data.Layout.cast(shape)
    except TypeError:
        return None


def fields(shape, prefix: str = "", offset: int = 0) -> list[dict]:
    """Leaf fields of a :mod:`amaranth.lib.data` layout as bit ranges from ``offset``.

    Struct and union members are named ``prefix.name``; array elements ``prefix[i]``, except
    that an array of plain values is one row (``prefix[0..n-1]``) with its element width, so a
    block of 16 codes is one line. Each row: ``field``, ``lsb``, ``msb``, ``width``, ``shape``
    and, for an array row, ``count`` and ``stride`` (element ``i`` at ``lsb + i * stride``).
    """
    layout = _layout(shape)
    if layout is None:
        width = Shape.cast(shape).width
        return [{"field": prefix or "(whole)", "lsb": offset, "msb": offset + width - 1, "width": width,
                 "shape": _shape_text(shape)}]
    rows = []
    if isinstance(layout, data.ArrayLayout):
        element = layout.elem_shape
        stride = Shape.cast(element).width
        if _layout(element) is None:
            return [{"field": f"{prefix}[0..{layout.length - 1}]", "lsb": offset,
                     "msb": offset + stride * layout.length - 1, "width": stride * layout.length,
                     "shape": f"{layout.length} x {_shape_text(element)}", "count": layout.length, "stride": stride}]
        for index in range(layout.length):
            rows += fields(element, f"{prefix}[{index}]", offset + index * stride)
        return rows
    for name, field in layout:                                   # StructLayout, UnionLayout
        rows += fields(field.shape, f"{prefix}.{name}" if prefix else str(name), offset + field.offset)
    return rows


def verilog_ports(text: str, top: str) -> dict[str, tuple[str, int]]:
    """``{port: (direction, width)}`` of module ``top`` in Yosys's Verilog ``text``."""
    match = re.search(rf"^module {re.escape(top)}\((.*?)\);(.*?)^endmodule", text, re.S | re.M)
    if match is None:
        raise ValueError(f"no module {top!r} in the Verilog")
    return {name: (direction, int(msb) + 1 if msb else 1) for direction, msb, name in
            re.findall(r"^\s*(input|output)\s+(?:signed\s+)?(?:\[(\d+):0\]\s+)?(\S+)\s*;", match.group(2), re.M)}


_CLOCK_RESET = [{"port": "clk", "direction": "input", "width": 1, "member": "clk", "shape": "clock, rising edge"},
                {"port": "rst", "direction": "input", "width": 1, "member": "rst",
                 "shape": "synchronous reset, active high"}]


def _port_rows(component: wiring.Component) -> list[dict]:
    rows = [dict(row) for row in _CLOCK_RESET]
    for path, member, value in component.signature.flatten(component):
        shape = member.shape
        row = {"port": "__".join(str(part) for part in path), "direction": _DIRECTION[member.flow],
               "width": Shape.cast(shape).width, "member": ".".join(str(part) for part in path),
               "shape": "layout" if _layout(shape) is not None else _shape_text(shape)}
        if _layout(shape) is not None:
            row["fields"] = fields(shape)
        rows.append(row)
    return rows


def parameters(factory, given: dict) -> list[dict]:
    """Every parameter of ``factory``'s signature: ``name``, ``value`` (given or default),
    ``default``, ``given``; then the given ones its ``**kwargs`` takes."""
    rows, named = [], inspect.signature(factory).parameters
    for name, parameter in named.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        default = None if parameter.default is parameter.empty else parameter.default
        value = given.get(name, default)
        rows.append({"name": name, "value": repr(value), "default": repr(default), "given": name in given})
    passed_on = next((n for n, p in named.items() if p.kind == p.VAR_KEYWORD), None)
    for name, value in given.items():                  # taken by **kwargs and handed on
        if name not in named and passed_on:
            rows.append({"name": name, "value": repr(value), "default": f"(passed on by **{passed_on})",
                         "given": True})
    return rows


def datasheet(component: wiring.Component, *, name: str, factory=None, params: dict | None = None,
              timing: dict | None = None, sections: dict | None = None, verilog: str | None = None) -> dict:
    """The datasheet of ``component`` (already constructed, not yet converted).

    Parameters
    ----------
    component : wiring.Component
    name : str
        The Verilog top module's name.
    factory : callable, optional
        What built the component; its signature gives the parameter table.
    params : dict, optional
        The parameters given to ``factory``.
    timing : dict, optional
        ``latency`` (cycles, int or text) and ``throughput`` (text); when ``latency`` is absent,
        the component's own integer ``latency`` attribute is used, if it has one.
    sections : dict, optional
        Further titled Markdown sections (a register map, say), kept as they are.
    verilog : str, optional
        The component converted with top module ``name``: ``clk`` and ``rst`` are listed only if
        it has them (a combinational design has neither), and every other port is checked
        against it.

    Raises
    ------
    ValueError
        ``verilog`` has other ports than the signature says.
    """
    cls = type(component)
    timing = dict(timing or {})
    if "latency" not in timing and isinstance(getattr(component, "latency", None), int):
        timing["latency"] = component.latency
    if isinstance(getattr(component, "queue_depth", None), int):
        timing.setdefault("queue_depth", component.queue_depth)
    ports = _port_rows(component)
    if verilog is not None:
        actual = verilog_ports(verilog, name)
        ports = [row for row in ports if row["port"] in actual or row not in _CLOCK_RESET]
        listed = {row["port"]: (row["direction"], row["width"]) for row in ports}
        if listed != actual:
            raise ValueError(f"the Verilog of {name!r} has ports {actual}, the signature says {listed}")
    doc = inspect.getdoc(cls) or ""
    return {
        "top": name,
        "component": f"{cls.__module__}.{cls.__qualname__}",
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "parameters": parameters(factory, params or {}) if factory is not None else [],
        "ports": ports,
        "timing": timing,
        "sections": dict(sections or {}),
    }


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def markdown(sheet: dict) -> str:
    """The datasheet as a Markdown page."""
    out = [f"# `{sheet['top']}`: {sheet['component']}", "", sheet["summary"], ""]
    if sheet["parameters"]:
        out += ["## Parameters", ""]
        out += _table(["parameter", "value", "default"],
                      [[f"`{p['name']}`", f"`{p['value']}`", f"`{p['default']}`"] for p in sheet["parameters"]])
        out.append("")
    out += ["## Ports", ""]
    out += _table(["Verilog port", "direction", "width", "member", "shape"],
                  [[f"`{p['port']}`", p["direction"], p["width"], f"`{p['member']}`", p.get("shape", "")]
                   for p in sheet["ports"]])
    out.append("")
    for port in sheet["ports"]:
        if "fields" not in port:
            continue
        out += [f"### Bit fields of `{port['port']}` ({port['width']} bits)", ""]
        out += _table(["field", "bits", "width", "shape"],
                      [[f"`{f['field']}`", f"[{f['msb']}:{f['lsb']}]" + (
                          f", element i at {f['lsb']} + {f['stride']}i" if "stride" in f else ""), f["width"], f["shape"]]
                       for f in port["fields"]])
        out.append("")
    if sheet["timing"]:
        out += ["## Timing", ""]
        out += _table(["figure", "value"], [[key.replace("_", " "), value] for key, value in sheet["timing"].items()])
        out.append("")
    for title, text in sheet["sections"].items():
        out += [f"## {title}", "", text.rstrip(), ""]
    return "\n".join(out)
