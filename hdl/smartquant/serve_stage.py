"""The serve stage: queued read responses answered in order, one chunk per cycle, into DRS.

For the head response the stage waits until its ``used`` planes have arrived (or it is
poisoned), then for each chunk ``c`` of the line reads spans ``first_span(k, line, c)`` and the
next of every plane from the plane store (the memories' read registers), and in the next cycle
corner-turns them (:class:`ViewChunkAssembler`, switched by the chunk's phase) into the DRS
register; the chunks of a line fill it in turn and ``valid`` rises with the last. ``claimed``
(the flush write-back reads the plane store) holds the stage; ``held`` says read data wait in
the ports. ``served`` pulses when the head response has read its last chunk: the plane pool may
then reuse its slots.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from .corner_turn import SpansLayout, ViewChunkAssembler, chunk_phase, first_span
from .cxl_mem import LINE_BITS, TAG_BITS, DRSLayout, DRSOpcode

__all__ = ["ServeLayout", "ServeStage"]


class ServeLayout(data.StructLayout):
    """A queued read response: ``tag``, ``poison``, view ``k``, ``line``, planes ``used``, and the
    entry's ``row`` / ``col`` in the plane pool."""

    def __init__(self, row_bits: int):
        super().__init__({"tag": TAG_BITS, "poison": 1, "k": 4, "line": 3, "used": 4, "row": row_bits, "col": 3})


class ServeStage(wiring.Component):
    """Members
    -------
    queue : In(stream.Signature(ServeLayout))
    arrived : In(data.ArrayLayout(8, rows))
        The plane pool's arrived bits.
    claimed : In(1)
    held : Out(1)
    r_en, r_row, r_first, r_col : Out
        The plane store's read request; ``r_spans`` : In(SpansLayout), its data a cycle later.
    drs : Out(stream.Signature(DRSLayout))
    served : Out(1)
    line_served : Out(1), with ``line_view`` : Out(4)
        An unpoisoned line enters the DRS register.
    """

    def __init__(self, rows: int, row_bits: int, lane_bits: int):
        self.lane_bits = lane_bits
        self.spans = LINE_BITS // lane_bits
        super().__init__({
            "queue": In(stream.Signature(ServeLayout(row_bits))),
            "arrived": In(data.ArrayLayout(PLANES, rows)), "claimed": In(1), "held": Out(1),
            "r_en": Out(1), "r_row": Out(range(rows)), "r_first": Out(range(self.spans)), "r_col": Out(3),
            "r_spans": In(SpansLayout(lane_bits)),
            "drs": Out(stream.Signature(DRSLayout)),
            "served": Out(1), "line_served": Out(1), "line_view": Out(4),
        })

    def elaborate(self, platform):
        m = Module()
        spans, lane = self.spans, self.lane_bits
        m.submodules.assembler = assembler = ViewChunkAssembler(lane)
        head = self.queue.payload
        need = Signal(PLANES)
        m.d.comb += need.eq(((1 << head.used) - 1) << head.col)
        ready_planes = Signal()
        m.d.comb += ready_planes.eq(head.poison | ((self.arrived[head.row] & need) == need))

        read_chunk = Signal(range(spans))          # next chunk of the head response to read
        held = Signal(self.queue.payload.shape())
        held_chunk = Signal(range(spans))
        held_phase = Signal(3)
        held_last = Signal()
        m.d.comb += held_last.eq(held_chunk == spans - 1)
        drs = self.drs
        drs_data = Signal(LINE_BITS, reset_less=True)
        m.d.comb += drs.payload.data.eq(drs_data)
        step = Signal()                            # the held chunk goes into the DRS register
        take = Signal()
        m.d.comb += [step.eq(self.held & (~drs.valid | drs.ready)),
                     take.eq(self.queue.valid & ~self.claimed & (~self.held | step) & ready_planes)]

        first = Signal(range(spans))
        phase = Signal(3)
        with m.Switch(Cat(read_chunk, head.line, head.k)):
            for k in range(1, PLANES + 1):
                for line in range(k):
                    for c in range(spans):
                        with m.Case(c | line << len(read_chunk) | k << (len(read_chunk) + 3)):
                            m.d.comb += [first.eq(first_span(k, line, c, lane)),
                                         phase.eq(chunk_phase(k, line, c, lane))]
        m.d.comb += [self.r_en.eq(take), self.r_row.eq(head.row), self.r_first.eq(first), self.r_col.eq(head.col),
                     assembler.spans.eq(self.r_spans)]
        with m.If(take):
            m.d.sync += [self.held.eq(1), held.eq(head), held_chunk.eq(read_chunk), held_phase.eq(phase),
                         read_chunk.eq(Mux(read_chunk == spans - 1, 0, read_chunk + 1))]
            with m.If(read_chunk == spans - 1):
                m.d.comb += [self.queue.ready.eq(1), self.served.eq(1)]
        with m.Elif(step):
            m.d.sync += self.held.eq(0)

        m.d.comb += [assembler.k.eq(held.k), assembler.phase.eq(held_phase), assembler.used.eq(held.used)]
        with m.If(step):
            m.d.sync += [drs.valid.eq(held_last), drs.payload.opcode.eq(DRSOpcode.MEM_DATA),
                         drs.payload.tag.eq(held.tag), drs.payload.poison.eq(held.poison)]
            with m.Switch(held_chunk):
                for c in range(spans):
                    with m.Case(c):
                        m.d.sync += drs_data[c * lane:(c + 1) * lane].eq(Mux(held.poison, 0, assembler.o))
            with m.If(held_last & ~held.poison):
                m.d.comb += [self.line_served.eq(1), self.line_view.eq(held.k)]
        with m.Elif(drs.ready):
            m.d.sync += drs.valid.eq(0)
        return m
