"""DRAM read responses into the plane store, one span per cycle.

A response (``id`` = the slot, ``Cat(memory, row)``; 512 bits) is taken into a holding register
and written to its plane memory one span per cycle, ``spans = 512 / lane_bits`` cycles; the
plane counts as arrived with its last span (``arrived`` pulses with the slot). A new response
is taken in the cycle the last span is written, so a stream of responses is absorbed at one per
``spans`` cycles. ``pause`` (the flush merge owns the write port) holds responses off; the
holding register is then empty or finishing.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from .cxl_mem import LINE_BITS
from .dram_port import DramResponseLayout

__all__ = ["ResponseWriter"]


class ResponseWriter(wiring.Component):
    """Members
    -------
    resp : In(stream.Signature(DramResponseLayout(slot_bits)))
    pause : In(1)
        Take no new response.
    busy : Out(1)
        The holding register holds a response (it writes a span this cycle).
    row, span, memory : Out
        Where the span goes (valid with ``busy``); ``data`` : Out(lane_bits).
    arrived : Out(1), with ``slot`` : Out(slot_bits)
        The last span is written this cycle.
    """

    def __init__(self, rows: int, slot_bits: int, lane_bits: int):
        self.spans = LINE_BITS // lane_bits
        self.lane_bits = lane_bits
        super().__init__({
            "resp": In(stream.Signature(DramResponseLayout(slot_bits))),
            "pause": In(1), "busy": Out(1),
            "row": Out(range(rows)), "span": Out(range(self.spans)), "memory": Out(3),
            "data": Out(lane_bits), "arrived": Out(1), "slot": Out(slot_bits),
        })

    def elaborate(self, platform):
        m = Module()
        hold = Signal(LINE_BITS, reset_less=True)      # data carries no reset: `busy` does
        last = Signal()
        take = Signal()
        m.d.comb += [last.eq(self.span == self.spans - 1),
                     self.resp.ready.eq(~self.pause & (~self.busy | last)),
                     take.eq(self.resp.valid & self.resp.ready),
                     self.memory.eq(self.slot[:3]), self.row.eq(self.slot[3:]),
                     self.data.eq(hold[:self.lane_bits]),
                     self.arrived.eq(self.busy & last)]
        with m.If(take):
            m.d.sync += [hold.eq(self.resp.payload.data), self.busy.eq(1), self.span.eq(0),
                         self.slot.eq(self.resp.payload.id)]
        with m.Elif(self.busy):
            m.d.sync += [hold.eq(hold >> self.lane_bits), self.span.eq(self.span + 1), self.busy.eq(~last)]
        return m
