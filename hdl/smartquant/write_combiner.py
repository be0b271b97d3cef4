"""The write-combining buffer: one group of view-8 lines, stored as planes.

Combine memory ``p`` holds plane ``p`` of the group's lines, span ``s`` at row ``s``. A line write
puts its 64-bit piece of every plane in place in one cycle (the write-side corner turn is
wiring, :func:`planes_from_int8_line`); the flush merge reads the planes back a span at a time,
combinationally, with the 64-bit pieces of the lines present (``merge_en``). The first write of a
group latches its region cap.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from .corner_turn import planes_from_int8_line
from .cxl_mem import LINE_BITS

__all__ = ["WriteCombiner"]


class WriteCombiner(wiring.Component):
    """Members
    -------
    write : In(1), with ``line`` : In(3), ``data`` : In(512), ``w_group``, ``w_cap`` : In
        Store INT8 line ``line`` of group ``w_group``.
    clear : In(1)
        The group has been flushed (``clear`` wins over ``write``).
    mask : Out(8)
        Lines present; ``group``, ``cap`` : Out, the group and the cap latched at its first write.
    merge_span : In(range(spans))
    merge_data : Out(data.ArrayLayout(lane_bits, 8))
        Span ``merge_span`` of every plane; ``merge_en`` : Out(lane_bits // 64), its pieces present.
    """

    def __init__(self, group_width: int, lane_bits: int):
        self.lane_bits = lane_bits
        self.spans = LINE_BITS // lane_bits
        super().__init__({
            "write": In(1), "line": In(3), "data": In(LINE_BITS), "w_group": In(group_width), "w_cap": In(4),
            "clear": In(1), "mask": Out(PLANES), "group": Out(group_width), "cap": Out(4),
            "merge_span": In(range(self.spans)),
            "merge_data": Out(data.ArrayLayout(lane_bits, PLANES)), "merge_en": Out(lane_bits // 64),
        })

    def elaborate(self, platform):
        m = Module()
        words = self.lane_bits // 64
        word, span = Signal(range(words)), Signal(range(self.spans))
        m.d.comb += Cat(word, span).eq(self.line)
        pieces = planes_from_int8_line(self.data)
        for p in range(PLANES):
            memory = Memory(shape=self.lane_bits, depth=self.spans, init=[])
            m.submodules[f"combine{p}"] = memory
            write, read = memory.write_port(granularity=64), memory.read_port(domain="comb")
            m.d.comb += [write.addr.eq(span), write.data.eq(pieces[p].replicate(words)),
                         write.en.eq(Mux(self.write, 1 << word, 0)),
                         read.addr.eq(self.merge_span), self.merge_data[p].eq(read.data)]
        by_span = data.View(data.ArrayLayout(words, self.spans), self.mask)
        m.d.comb += self.merge_en.eq(by_span[self.merge_span])
        with m.If(self.clear):
            m.d.sync += self.mask.eq(0)
        with m.Elif(self.write):
            m.d.sync += [self.mask.eq(self.mask | (1 << self.line)), self.group.eq(self.w_group)]
            with m.If(self.mask == 0):
                m.d.sync += self.cap.eq(self.w_cap)
        return m
