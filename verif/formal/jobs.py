"""The formal jobs: each a checker module around one block, its properties and how it is run.

``quick`` jobs run in ``make test`` (seconds each); the rest in ``make formal`` / ``make regress``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from amaranth.asserts import AnyConst
from amaranth.hdl import Assert, Assume, Elaboratable, Module, Signal, Value

from golden import formats
from hdl.credit_queue import CreditQueue
from hdl.float_unpacked import SIG_WIDTH
from hdl.format_decoder import FormatDecoder
from hdl.small_float import small_float

from .properties import Past, stream_follows_the_rules, stream_holds

__all__ = ["Job", "JOBS", "DecoderEqualsTable", "CreditQueueContract"]


@dataclass(frozen=True)
class Job:
    name: str
    build: Callable[[], Elaboratable]      # the checker; its ``ports`` attribute lists the free inputs
    mode: str                              # "prove" or "bmc"
    depth: int
    quick: bool
    properties: str                        # what it checks, for the summary


def unpacked_fields(value: float) -> dict:
    """The :class:`hdl.float_unpacked.UnpackedFloat` fields of a golden value (a NaN's sign is
    the sign bit of the golden NaN, which keeps the code's), worked out from the value alone: ``|v| = m 2**e`` with ``m`` in [1/2, 1)
    gives ``sig = m 2**SIG_WIDTH`` and ``exp = e - 1``."""
    sign = int(math.copysign(1.0, value) < 0)
    if math.isnan(value):
        return {"nan": 1, "inf": 0, "zero": 0, "exp": 0, "sig": 0, "sign": sign}
    if math.isinf(value):
        return {"nan": 0, "inf": 1, "zero": 0, "exp": 0, "sig": 0, "sign": sign}
    if value == 0:
        return {"nan": 0, "inf": 0, "zero": 1, "exp": 0, "sig": 0, "sign": sign}
    mantissa, exponent = math.frexp(abs(value))
    sig = mantissa * (1 << SIG_WIDTH)
    if sig != int(sig):
        raise ValueError(f"{value!r} needs more than {SIG_WIDTH} significand bits")
    return {"nan": 0, "inf": 0, "zero": 0, "exp": exponent - 1, "sig": int(sig), "sign": sign}


class DecoderEqualsTable(Elaboratable):
    """:class:`hdl.format_decoder.FormatDecoder` equals the golden code table for every code:
    for a free code, each field of the output equals the one worked out from
    ``golden.formats.decode`` of that code (combinational, so a one-step check is a proof)."""

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.dut = FormatDecoder(fmt, 1)
        self.ports = [self.dut.codes.as_value(), self.dut.values.as_value()]

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        code, out = dut.codes[0], dut.values[0]
        values = formats.decode(np.arange(1 << small_float(self.fmt).width), self.fmt)
        for c, value in enumerate(values):
            with m.If(code == c):
                for field, want in unpacked_fields(float(value)).items():
                    m.d.comb += Assert(getattr(out, field) == want, f"code_{c:#x}_{field}")
        return m


class CreditQueueContract(Elaboratable):
    """:class:`hdl.credit_queue.CreditQueue` behind a pipeline of ``latency`` cycles.

    Environment: an item is accepted only while ``ready``; each accepted item is written
    ``latency`` cycles later (a reset drops those in flight); ``w_data`` and ``o.ready`` free.
    Properties: ``o`` keeps the stream rules (valid and payload held until taken, nothing valid
    after a reset); never more than ``depth`` items accepted and not delivered; nothing is
    delivered that was not written; the ``n``-th item written (``n`` free) is the ``n``-th
    delivered, with its payload. Bounds of the order check: ``n`` ranges over the first four
    writes after a reset (one more than the default ``depth`` of 3, so every slot of the queue's
    ring is followed, and its wrap), and traces are limited to eight writes (``Assume(written <
    8)``) so the 5-bit counters never wrap.
    """

    def __init__(self, depth: int = 3, latency: int = 2, width: int = 4, claimed_bound: int | None = None):
        self.depth, self.latency = depth, latency
        self.claimed_bound = depth if claimed_bound is None else claimed_bound    # a smaller one must fail
        self.dut = CreditQueue(width, depth)
        self.accept = Signal(name="accept")                 # the pipeline's source offers an item
        self.ports = [self.accept, self.dut.w_data, self.dut.o.ready, self.dut.o.valid, self.dut.o.payload,
                      self.dut.ready]

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        past = Past(m)
        accepted = self.accept & dut.ready
        m.d.comb += dut.accepted.eq(accepted)
        stage = accepted
        for i in range(self.latency):                       # the pipeline (reset with the design)
            nxt = Signal(name=f"pipe_{i}")
            m.d.sync += nxt.eq(stage)
            stage = nxt
        m.d.comb += dut.w_valid.eq(stage)
        stream_holds(m, past, dut.o, "o")

        delivered = dut.o.valid & dut.o.ready
        bound = 4 * (self.depth + self.latency)              # counters wrap far beyond any reachable gap
        in_flight = Signal(range(bound), name="in_flight")   # accepted, not delivered
        stored = Signal(range(bound), name="stored")         # written, not delivered
        m.d.sync += [in_flight.eq(in_flight + accepted - delivered), stored.eq(stored + dut.w_valid - delivered)]
        m.d.comb += [Assert(in_flight <= self.claimed_bound, "credits_bound_the_items_in_flight"),
                     Assert(~delivered | (stored != 0), "nothing_out_that_was_not_written")]

        # Order and data: the item written when `written` reaches the free `n` is the one delivered
        # when `taken` reaches it.
        n = AnyConst(2)
        written, taken = Signal(5, name="written"), Signal(5, name="taken")
        kept, kept_valid = Signal.like(dut.w_data, name="kept"), Signal(name="kept_valid")
        m.d.sync += [written.eq(written + dut.w_valid), taken.eq(taken + delivered)]
        with m.If(dut.w_valid & (written == n)):
            m.d.sync += [kept.eq(dut.w_data), kept_valid.eq(1)]
        with m.If(delivered & (taken == n)):
            m.d.comb += [Assert(kept_valid, "delivered_in_order"),
                         Assert(dut.o.payload == kept, "delivered_with_its_payload")]
        m.d.comb += Assume(written < 8)                     # the counters do not wrap
        return m


class ArbiterStreams(Elaboratable):
    """:class:`hdl.smartquant.arbiter.HostArbiter`: with ``req`` and ``rwd`` keeping the stream
    rules (assumed), ``o`` keeps them (asserted); every transfer on ``o`` is a transfer of
    exactly one input, carrying its tag and channel; neither input waits forever while the
    other streams (the two inputs alternate when both are offered)."""

    def __init__(self):
        from hdl.smartquant.arbiter import HostArbiter
        self.dut = HostArbiter()
        self.ports = [Value.cast(value) for _, _, value in self.dut.signature.flatten(self.dut)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        past = Past(m)
        stream_follows_the_rules(m, past, dut.req, "req")
        stream_follows_the_rules(m, past, dut.rwd, "rwd")
        stream_holds(m, past, dut.o, "o", reset_clears=False)      # combinational from the inputs
        took_req, took_rwd = dut.req.valid & dut.req.ready, dut.rwd.valid & dut.rwd.ready
        sent = dut.o.valid & dut.o.ready
        m.d.comb += [Assert(sent == (took_req | took_rwd), "a transfer on o is a transfer of an input"),
                     Assert(~(took_req & took_rwd), "one input at a time")]
        with m.If(took_rwd):
            m.d.comb += Assert(dut.o.payload.write & (dut.o.payload.tag == dut.rwd.payload.tag), "rwd passed on")
        with m.If(took_req):
            m.d.comb += Assert(~dut.o.payload.write & (dut.o.payload.tag == dut.req.payload.tag), "req passed on")
        # Fairness: a write offered while reads stream is taken within two transfers.
        waited = Signal(2, name="rwd_waited")
        with m.If(dut.rwd.valid & ~took_rwd & sent):
            m.d.sync += waited.eq(waited + 1)
        with m.Elif(took_rwd):
            m.d.sync += waited.eq(0)
        m.d.comb += Assert(waited < 2, "a write is not passed over twice")
        return m


JOBS = [
    *[Job(f"decoder_{fmt}_equals_its_table", lambda fmt=fmt: DecoderEqualsTable(fmt), "prove", 1, True,
          f"every {fmt} code decodes to the golden value's fields") for fmt in ("e2m1", "e4m3", "e5m2")],
    Job("host_arbiter_streams", ArbiterStreams, "prove", 12, True,
        "o keeps the stream rules; each transfer passes one input on, with its channel and tag; writes not starved"),
    Job("credit_queue_contract", CreditQueueContract, "prove", 16, True,
        "o keeps the stream rules; items in flight <= depth; nothing out not written; in order, with payload"),
]
