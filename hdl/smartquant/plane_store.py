"""Plane memories of the SmartQuant read buffer, with the pool's plane select.

Eight plane memories (``amaranth.lib.memory.Memory``, ``lane_bits`` wide), one per column of the
plane pool (``docs/smartquant.md`` section 4): slot ``(row, memory)`` holds one 512-bit plane as
``spans = 512 / lane_bits`` spans, span ``s`` at memory row ``row * spans + s``.

- **Write** (one port per memory, 64-bit granularity): a row and span, per-memory data and
  per-memory enables. The response writer writes one memory, the flush merge all eight.
- **Read** (two ports per memory, one when ``spans == 1``): spans ``first`` and ``first + 1`` of a
  row, registered in the memories' read ports. An entry of ``slot_size`` slots at column ``col``
  keeps plane ``p`` in memory ``col + p``; the output gives the planes in order, plane ``p``
  chosen among the memories its column can start at (8 for plane 0, 4 for plane 1, 2 for planes
  2-3, memory ``p`` for planes 4-7), by ``col`` of the read one cycle earlier.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from .corner_turn import SpansLayout
from .cxl_mem import LINE_BITS

__all__ = ["PlaneStore", "plane_sources"]


def plane_sources(plane: int) -> list[int]:
    """The memories plane ``plane`` of an entry can sit in, indexed by ``col >> log2 slot_size``."""
    size = 1 << plane.bit_length()                     # the smallest entry holding plane `plane`
    return [col + plane for col in range(0, PLANES, size) if col + plane < PLANES]


class PlaneStore(wiring.Component):
    """Plane memories of ``rows`` pool rows at ``lane_bits`` per span.

    Members
    -------
    w_row : In(range(rows)), w_span : In(range(spans))
    w_data : In(data.ArrayLayout(lane_bits, 8))
        Data per memory.
    w_en : In(data.ArrayLayout(lane_bits // 64, 8))
        Per memory, one enable per 64-bit piece.
    r_en : In(1)
        Read this cycle; the data appear in ``r_spans`` the next cycle and stay until the next read.
    r_row : In(range(rows)), r_first : In(range(spans)), r_col : In(3)
    r_spans : Out(SpansLayout(lane_bits))
        ``r_spans[p][o]``: span ``first + o`` of plane ``p`` of the entry at column ``col``.
    """

    def __init__(self, rows: int, lane_bits: int):
        self.rows, self.lane_bits = rows, lane_bits
        self.spans = LINE_BITS // lane_bits
        self.span_bits = (self.spans - 1).bit_length()
        super().__init__({
            "w_row": In(range(rows)), "w_span": In(range(self.spans)),
            "w_data": In(data.ArrayLayout(lane_bits, PLANES)),
            "w_en": In(data.ArrayLayout(lane_bits // 64, PLANES)),
            "r_en": In(1), "r_row": In(range(rows)), "r_first": In(range(self.spans)), "r_col": In(3),
            "r_spans": Out(SpansLayout(lane_bits)),
        })

    def _address(self, row, span):
        return Cat(span[:self.span_bits], row) if self.span_bits else row

    def elaborate(self, platform):
        m = Module()
        n_reads = min(2, self.spans)
        raw = Signal(SpansLayout(self.lane_bits))          # by memory
        for i in range(PLANES):
            memory = Memory(shape=self.lane_bits, depth=self.rows * self.spans, init=[])
            m.submodules[f"plane{i}"] = memory
            write = memory.write_port(granularity=64)
            m.d.comb += [write.addr.eq(self._address(self.w_row, self.w_span)), write.data.eq(self.w_data[i]),
                         write.en.eq(self.w_en[i])]
            for offset in range(n_reads):
                read = memory.read_port()
                m.d.comb += [read.addr.eq(self._address(self.r_row, self.r_first + offset)),
                             read.en.eq(self.r_en), raw[i][offset].eq(read.data)]
        col = Signal(3)                                     # column of the data in the ports
        with m.If(self.r_en):
            m.d.sync += col.eq(self.r_col)
        for p in range(PLANES):
            sources = plane_sources(p)
            if len(sources) == 1:
                m.d.comb += self.r_spans[p].eq(raw[sources[0]])
                continue
            select = col[3 - (len(sources) - 1).bit_length():]
            with m.Switch(select):
                for index, memory in enumerate(sources):
                    with m.Case(index):
                        m.d.comb += self.r_spans[p].eq(raw[memory])
        return m
