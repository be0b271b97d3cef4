"""Plane memories of the SmartQuant read buffer, with the pool's plane select.

Eight plane memories, one per column of the plane pool (``docs/smartquant.md`` section 4): slot
``(row, memory)`` holds one 512-bit plane as ``spans = 512 / lane_bits`` spans, span ``s`` at
memory row ``row * spans + s``. Each memory is built of :class:`hdl.block_ram.BlockRam` pieces
of 64 bits (a read leaves a register, so no logic follows a block RAM's slow output).

- **Write** (64-bit granularity): a row and span, per-memory data and per-memory enables. The
  response writer writes one memory, the flush merge all eight.
- **Read**, free-running: spans ``first`` and ``first + 1`` of a row (one when ``spans == 1``;
  the second read is a copy of the memory) appear in ``r_spans`` :data:`READ_LATENCY` cycles
  after the address, for one cycle. An entry of ``slot_size`` slots at column ``col`` keeps
  plane ``p`` in memory ``col + p``; the output gives the planes in order, plane ``p`` chosen
  among the memories its column can start at (8 for plane 0, 4 for plane 1, 2 for planes 2-3,
  memory ``p`` for planes 4-7), then registered.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from ..block_ram import BLOCK_RAM_TARGETS, BlockRam
from ..pipeline import delay
from .corner_turn import SpansLayout
from .cxl_mem import LINE_BITS

__all__ = ["PlaneStore", "plane_sources", "READ_LATENCY"]

READ_LATENCY = 3
"""Cycles from a read address to its data in ``r_spans``: the block RAM's two, the plane select's one."""

_PIECE = 64                                            # write granularity, bits


def plane_sources(plane: int) -> list[int]:
    """The memories plane ``plane`` of an entry can sit in, indexed by ``col >> log2 slot_size``."""
    size = 1 << plane.bit_length()                     # the smallest entry holding plane `plane`
    return [col + plane for col in range(0, PLANES, size) if col + plane < PLANES]


class PlaneStore(wiring.Component):
    """Plane memories of ``rows`` pool rows at ``lane_bits`` per span.

    Parameters
    ----------
    rows : int
    lane_bits : int
    target : {"inferred", "ecp5"}
        How the block RAMs are built (:class:`hdl.block_ram.BlockRam`); the same cycles either way.

    Members
    -------
    w_row : In(range(rows)), w_span : In(range(spans))
    w_data : In(data.ArrayLayout(lane_bits, 8))
        Data per memory.
    w_en : In(data.ArrayLayout(lane_bits // 64, 8))
        Per memory, one enable per 64-bit piece. A word written in cycle ``t`` is read new by an
        address given in cycle ``t + 1`` or later.
    r_row : In(range(rows)), r_first : In(range(spans)), r_col : In(3)
        Read address, every cycle.
    r_spans : Out(SpansLayout(lane_bits))
        ``r_spans[p][o]``: span ``first + o`` of plane ``p`` of the entry at column ``col``, of the
        address given :data:`READ_LATENCY` cycles earlier.
    """

    def __init__(self, rows: int, lane_bits: int, target: str = "inferred"):
        if target not in BLOCK_RAM_TARGETS:
            raise ValueError(f"target must be one of {BLOCK_RAM_TARGETS}, got {target!r}")
        self.rows, self.lane_bits, self.target = rows, lane_bits, target
        self.spans = LINE_BITS // lane_bits
        self.span_bits = (self.spans - 1).bit_length()
        super().__init__({
            "w_row": In(range(rows)), "w_span": In(range(self.spans)),
            "w_data": In(data.ArrayLayout(lane_bits, PLANES)),
            "w_en": In(data.ArrayLayout(lane_bits // _PIECE, PLANES)),
            "r_row": In(range(rows)), "r_first": In(range(self.spans)), "r_col": In(3),
            "r_spans": Out(SpansLayout(lane_bits)),
        })

    def _address(self, row, span):
        return Cat(span[:self.span_bits], row) if self.span_bits else row

    def elaborate(self, platform):
        m = Module()
        n_reads = min(2, self.spans)
        pieces = self.lane_bits // _PIECE
        raw = Signal(SpansLayout(self.lane_bits))          # by memory, two cycles after the address
        w_addr = self._address(self.w_row, self.w_span)
        for i in range(PLANES):
            for offset in range(n_reads):
                r_addr = Signal(len(w_addr), name=f"r_addr{i}_{offset}")
                m.d.comb += r_addr.eq(self._address(self.r_row, self.r_first + offset))
                for piece in range(pieces):
                    ram = BlockRam(_PIECE, self.rows * self.spans, self.target)
                    m.submodules[f"plane{i}_{offset}_{piece}"] = ram
                    m.d.comb += [ram.w_addr.eq(w_addr), ram.w_data.eq(self.w_data[i][piece * _PIECE:(piece + 1) * _PIECE]),
                                 ram.w_en.eq(self.w_en[i][piece]), ram.r_addr.eq(r_addr),
                                 raw[i][offset][piece * _PIECE:(piece + 1) * _PIECE].eq(ram.r_data)]
        col = delay(m, self.r_col, 2, "col")               # the column of the data in `raw`
        for p in range(PLANES):
            sources = plane_sources(p)
            chosen = Signal(data.ArrayLayout(self.lane_bits, 2), name=f"plane{p}_chosen")
            if len(sources) == 1:
                m.d.comb += chosen.eq(raw[sources[0]])
            else:
                select = col[3 - (len(sources) - 1).bit_length():]
                with m.Switch(select):
                    for index, memory in enumerate(sources):
                        with m.Case(index):
                            m.d.comb += chosen.eq(raw[memory])
            m.d.sync += self.r_spans[p].eq(chosen)
        return m
