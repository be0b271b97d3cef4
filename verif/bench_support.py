"""Helpers shared by the cocotb benches: parameters, seeded stimulus, bus packing, summaries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge
from amaranth.hdl import Shape
from amaranth.lib import data

# cocotb's regression seed: during collection (when benches import this module) cocotb.RANDOM_SEED
# is the value of COCOTB_RANDOM_SEED; each test then runs with a seed derived from it and the
# test's name. The runner checks it against the seed it printed.
REGRESSION_SEED = cocotb.RANDOM_SEED

__all__ = ["params", "rng", "pack_lanes", "split_lanes", "split_struct", "record_summary", "resolved",
           "pack", "stream_through", "start", "start_clock", "reset", "CLOCK_PERIOD_NS"]

CLOCK_PERIOD_NS = 10


def start_clock(dut) -> None:
    """Start ``dut.clk`` with period :data:`CLOCK_PERIOD_NS`."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start())


async def start(dut, idle: dict | None = None, *, cycles: int = 2) -> None:
    """Start the clock and :func:`reset` the design: every clocked bench's first step."""
    start_clock(dut)
    await reset(dut, idle, cycles=cycles)


async def reset(dut, idle: dict | None = None, *, cycles: int = 2) -> None:
    """Hold ``dut.rst`` for ``cycles`` rising edges with the inputs named in ``idle`` at their
    values (``{"i__valid": 0, ...}``: nothing offered while in reset), then release it."""
    if not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"reset cycles must be an integer >= 1, got {cycles!r}")
    dut.rst.value = 1
    for name, value in (idle or {}).items():
        getattr(dut, name).value = value
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


def pack(shape, value) -> int:
    """Pack nested dicts / lists / ints into the integer of a ``lib.data`` layout (or plain shape)."""
    shape = _as_layout(shape)
    if isinstance(shape, data.Layout):
        out = 0
        for key, field in shape:
            out |= pack(field.shape, value[key]) << field.offset
        return out
    width = Shape.cast(shape).width
    return int(value) & ((1 << width) - 1)


def _as_layout(shape):
    """A ``data.Struct`` / ``data.Union`` class as its layout; other shapes unchanged."""
    if isinstance(shape, type) and issubclass(shape, (data.Struct, data.Union)):
        return data.Layout.cast(shape)
    return shape


def resolved(handle) -> int:
    """The unsigned value of a signal; fails naming the X/Z bits (4-state simulators) if any."""
    value = handle.value
    text = str(value)                      # the simulator's own string: no per-bit objects (fast)
    if text.strip("01"):
        bad = [len(text) - 1 - i for i, ch in enumerate(text) if ch not in "01"]
        raise AssertionError(f"{handle._name} has unresolved bits {sorted(bad)[:16]}: {text}")
    return int(text, 2)


def params() -> dict:
    """The configuration the runner built (``CXLQUANT_PARAMS``)."""
    return json.loads(os.environ.get("CXLQUANT_PARAMS", "{}"))


def rng() -> np.random.Generator:
    """NumPy generator seeded from cocotb's seed (printed by the runner; ``SEED=`` reproduces)."""
    return np.random.default_rng(cocotb.RANDOM_SEED)


def pack_lanes(values, width: int) -> int:
    """Pack unsigned lane values into one integer, lane 0 in the low bits (an ArrayLayout)."""
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & ((1 << width) - 1)) << (width * i)
    return out


def split_lanes(value: int, width: int, lanes: int) -> np.ndarray:
    """Inverse of :func:`pack_lanes` (int64 lanes)."""
    mask = (1 << width) - 1
    return np.array([(value >> (width * i)) & mask for i in range(lanes)], dtype=np.int64)


def split_struct(value: int, layout: data.StructLayout) -> dict:
    """Fields of a struct value, signed fields sign-extended (nested layouts stay raw integers)."""
    fields = {}
    for name, field in _as_layout(layout):
        raw = (value >> field.offset) & ((1 << field.width) - 1)
        if not isinstance(field.shape, data.Layout) and Shape.cast(field.shape).signed \
                and raw >> (field.width - 1):
            raw -= 1 << field.width
        fields[name] = raw
    return fields


def record_summary(test: str, **figures) -> None:
    """Merge ``figures`` for ``test`` into the bench's JSON summary (collected by reports)."""
    path = os.environ.get("CXLQUANT_SUMMARY")
    if not path:
        return
    summary = json.loads(Path(path).read_text()) if os.path.exists(path) else {
        "bench": os.environ.get("CXLQUANT_BENCH"), "simulator": os.environ.get("CXLQUANT_SIM"),
        "seed": int(os.environ.get("CXLQUANT_SEED", cocotb.RANDOM_SEED)),      # what SEED= reproduces
        "cocotb_seed": REGRESSION_SEED,                           # what cocotb seeded the run with
        "params": params(), "tests": {}}
    summary["tests"][test] = figures
    Path(path).write_text(json.dumps(summary, indent=1, default=int))
    from .coverage import export
    export()                                   # the coverage so far, when the runner asks for it


async def stream_through(dut, payloads: list[int], n_out: int, gen: np.random.Generator, *,
                         p_valid: float = 1.0, p_ready: float = 1.0, read=resolved, flows: list | None = None):
    """Drive stream ``i`` with ``payloads`` and collect ``n_out`` beats of stream ``o``.

    One coroutine plays source and sink: each cycle it offers the next payload
    with probability ``p_valid`` and raises ``o.ready`` with probability
    ``p_ready``, then samples both handshakes in the ReadOnly phase (the
    transfers of the coming clock edge). Returns ``(outputs, accept_cycles)``,
    outputs in arrival order as ``read(dut.o__payload)``. With a ``flows`` list, one set per
    output is appended to it: the stall kinds seen since the previous output, ``"valid gaps"``
    (no beat offered while beats were left) and ``"back-pressure"`` (an output offered, not taken).
    """
    sent, out, cycle, accepts = 0, [], 0, []
    stalls = set()
    limit = 50 * (len(payloads) + n_out) + 100
    while len(out) < n_out:
        await RisingEdge(dut.clk)
        cycle += 1
        if cycle > limit:
            raise AssertionError(f"timeout: {sent}/{len(payloads)} beats in, {len(out)}/{n_out} out")
        valid = sent < len(payloads) and gen.random() < p_valid
        dut.i__valid.value = int(valid)
        if valid:
            dut.i__payload.value = payloads[sent]
        ready = gen.random() < p_ready
        dut.o__ready.value = int(ready)
        await ReadOnly()
        if valid and dut.i__ready.value == 1:
            sent += 1
            accepts.append(cycle)
        if not valid and sent < len(payloads):
            stalls.add("valid gaps")
        if dut.o__valid.value == 1:
            if ready:
                out.append(read(dut.o__payload))
                if flows is not None:
                    flows.append(stalls)
                stalls = set()
            else:
                stalls.add("back-pressure")
    await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    return out, accepts
