"""The serve stage: queued read responses answered in order, one chunk per cycle, into DRS.

A queued response enters a front register (so nothing after the queue's distributed-RAM read
but a register), then the head register, where it waits until its ``used`` planes have
arrived (or it is poisoned; the check is registered, so an arrival shows a cycle later); then
each cycle one chunk ``c`` of its line is read: spans ``first_span(k, line, c)`` and the next
of every plane. The span and the chunk's phase are registers, stepped from chunk
to chunk (``phase + 1``, and ``first + 1`` when the phase wraps at ``k``), so the plane store's
read address leaves flip-flops. The plane store answers :data:`.plane_store.READ_LATENCY`
cycles later; the chunk's description travels beside it, the corner turn
(:class:`ViewChunkAssembler`, switched by ``k`` and the phase) places it in the line, and the
last chunk writes the line into a small DRS queue. A line's first chunk is read only while
the queue has room for it (credits: lines read or queued, at most the queue's depth), so the
read pipeline never stalls and only the queue depends on ``drs.ready``.

``claimed`` (the flush write-back reads the plane store this cycle) holds the stage. ``served``
pulses when the head response's last chunk is read: the plane pool may then reuse its slots
(the read has left the memories by the next write).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from ..pipeline import delay, valid_reg
from .corner_turn import SpansLayout, ViewChunkAssembler
from .cxl_mem import LINE_BITS, TAG_BITS, DRSLayout, DRSOpcode

__all__ = ["ServeLayout", "ServeStage", "plane_mask"]


class ServeLayout(data.StructLayout):
    """A queued read response: ``tag``, ``poison``, view ``k``, ``line``, planes ``used``, the
    entry's ``row`` / ``col`` in the plane pool, and, decoded by the writer so the serve stage
    loads them from the queue as they are: where the line's first chunk starts (``first`` span
    and ``phase``, :func:`.corner_turn.line_start` of ``k`` and ``line``) and the plane memories
    it reads (``need``, :func:`plane_mask` of ``used`` and ``col``)."""

    def __init__(self, row_bits: int, spans: int):
        super().__init__({"tag": TAG_BITS, "poison": 1, "k": 4, "line": 3, "used": 4, "row": row_bits, "col": 3,
                          "first": range(spans), "phase": 3, "need": PLANES})


def plane_mask(m: Module, used, col) -> Signal:
    """Planes ``col .. col + used - 1`` of a pool row as a mask (one bit per plane memory), decoded
    from Amaranth values ``used`` (1..8) and ``col`` (0..7, ``col + used <= 8``) as a table; 0 for
    other codes."""
    mask = Signal(PLANES, name="plane_mask")
    with m.Switch(Cat(col, used)):
        for count in range(1, PLANES + 1):
            for base in range(PLANES - count + 1):
                with m.Case(base | count << 3):
                    m.d.comb += mask.eq(((1 << count) - 1) << base)
    return mask


class _ChunkLayout(data.StructLayout):
    """A chunk on its way through the plane store's read latency."""

    def __init__(self, spans: int):
        super().__init__({"tag": TAG_BITS, "poison": 1, "k": 4, "used": 4, "phase": 3,
                          "chunk": range(spans), "last": 1})


class _LineLayout(data.Struct):
    tag: TAG_BITS
    poison: 1
    data: LINE_BITS


class ServeStage(wiring.Component):
    """Parameters
    ----------
    rows, row_bits : int
        Pool rows and the width of a row index.
    lane_bits : int
        Chunk width.
    read_latency : int
        Cycles from the plane store's read address to ``r_spans`` (at least 1: the corner turn
        decodes a chunk's description in the cycle before its spans).

    Members
    -------
    queue : In(stream.Signature(ServeLayout))
    arrived : In(data.ArrayLayout(8, rows))
        The plane pool's arrived bits.
    claimed : In(1)
    r_row, r_first, r_col : Out
        The plane store's read address (registers); ``r_spans`` : In(SpansLayout), its data
        ``read_latency`` cycles later.
    drs : Out(stream.Signature(DRSLayout))
    served : Out(1)
    line_served : Out(1), with ``line_view`` : Out(4)
        An unpoisoned line enters the DRS queue.
    busy : Out(1)
        A response is in the front or head register, being read or queued for DRS.

    Attributes
    ----------
    lines : int
        Depth of the DRS queue, in lines: enough credits for one chunk per cycle.
    """

    def __init__(self, rows: int, row_bits: int, lane_bits: int, read_latency: int):
        self.lane_bits = lane_bits
        self.spans = LINE_BITS // lane_bits
        if not isinstance(read_latency, int) or read_latency < 1:
            raise ValueError(f"read_latency must be an integer >= 1, got {read_latency!r}")
        self.read_latency = read_latency
        # A line's credit is held from its first chunk's read to its DRS transfer: spans - 1
        # cycles of chunks, the read latency, the queue write and the credit's return.
        self.lines = max(2, -(-(self.spans + read_latency + 2) // self.spans))
        super().__init__({
            "queue": In(stream.Signature(ServeLayout(row_bits, self.spans))),
            "arrived": In(data.ArrayLayout(PLANES, rows)), "claimed": In(1),
            "r_row": Out(range(rows)), "r_first": Out(range(self.spans)), "r_col": Out(3),
            "r_spans": In(SpansLayout(lane_bits)),
            "drs": Out(stream.Signature(DRSLayout)),
            "served": Out(1), "line_served": Out(1), "line_view": Out(4), "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        spans, lane = self.spans, self.lane_bits
        m.submodules.assembler = assembler = ViewChunkAssembler(lane)
        m.submodules.lines = lines = fifo.SyncFIFO(width=_LineLayout.as_shape().size, depth=self.lines)

        # --- the head response, its chunk, span and phase --------------------------------------
        head = Signal(self.queue.payload.shape(), reset_less=True)
        head_valid = Signal()
        need = Signal(PLANES, reset_less=True)
        chunk = Signal(range(spans), reset_less=True)
        first = Signal(range(spans), reset_less=True)
        phase = Signal(3, reset_less=True)
        front = Signal(self.queue.payload.shape(), reset_less=True)
        front_valid = Signal()
        # The head's planes have arrived (or it is poisoned), from the last cycle's arrived bits
        # (so an arrival shows a cycle later; a queued response's slots cannot be taken away
        # meanwhile): worked out for the front and for the held head, each registered, and picked
        # by the registered `load` (the head is the last front if it was loaded).
        ready_planes, front_ready, held_ready, loaded = Signal(), Signal(), Signal(), Signal()
        m.d.comb += ready_planes.eq(Mux(loaded, front_ready, held_ready))

        def planes_ready(response, needed):
            # Every row checked against the mask, then the response's row picked (a shallow tree,
            # where indexing the arrived bits first lets synthesis build a chain).
            per_row = Signal(len(self.arrived), name="rows_ready")
            m.d.comb += per_row.eq(Cat(((row & needed) == needed) for row in self.arrived))
            return response.poison | per_row.bit_select(response.row, 1)

        outstanding = Signal(range(self.lines + 1))     # lines whose first chunk is read, not yet out of DRS
        room, take, last = Signal(), Signal(), Signal()
        m.d.comb += [room.eq((chunk != 0) | (outstanding < self.lines)),
                     take.eq(head_valid & ~self.claimed & ready_planes & room),
                     last.eq(chunk == spans - 1)]
        load = Signal()
        m.d.comb += [load.eq(~head_valid | (take & last)), self.queue.ready.eq(~front_valid | load),
                     self.served.eq(take & last)]
        with m.If(self.queue.ready):
            m.d.sync += [front_valid.eq(self.queue.valid), front.eq(self.queue.payload)]
        new = front
        new_need = new.need
        m.d.sync += [front_ready.eq(planes_ready(new, new_need)), held_ready.eq(planes_ready(head, need)),
                     loaded.eq(load)]
        with m.If(load):
            m.d.sync += [head_valid.eq(front_valid), head.eq(new), need.eq(new_need),
                         chunk.eq(0), first.eq(new.first), phase.eq(new.phase)]
        with m.Elif(take):
            m.d.sync += chunk.eq(chunk + 1)
            with m.If(phase + 1 == head.k):
                m.d.sync += [phase.eq(0), first.eq(first + 1)]
            with m.Else():
                m.d.sync += phase.eq(phase + 1)
        m.d.comb += [self.r_row.eq(head.row), self.r_first.eq(first), self.r_col.eq(head.col)]

        # --- the chunk through the read latency, into the line and the DRS queue -----------------
        issued = Signal(_ChunkLayout(spans))
        m.d.comb += [issued.tag.eq(head.tag), issued.poison.eq(head.poison), issued.k.eq(head.k),
                     issued.used.eq(head.used), issued.phase.eq(phase), issued.chunk.eq(chunk), issued.last.eq(last)]
        # The assembler decodes the chunk's description a cycle before its spans arrive.
        described = delay(m, issued, self.read_latency - 1, "chunk")
        arriving = delay(m, described, 1, "chunk_arriving")
        valid = take
        for stage in range(self.read_latency):
            valid = valid_reg(m, f"chunk_valid_{stage + 1}", valid)
        m.d.comb += [assembler.spans.eq(self.r_spans), assembler.k.eq(described.k),
                     assembler.phase.eq(described.phase), assembler.used.eq(described.used),
                     assembler.zero.eq(described.poison)]
        chunk_data = Signal(lane)
        m.d.comb += chunk_data.eq(assembler.o)
        line_data = Signal(LINE_BITS - lane, reset_less=True)     # the line's chunks before the last
        if spans > 1:
            with m.If(valid & ~arriving.last):
                with m.Switch(arriving.chunk):
                    for c in range(spans - 1):
                        with m.Case(c):
                            m.d.sync += line_data[c * lane:(c + 1) * lane].eq(chunk_data)
        written = data.View(_LineLayout, lines.w_data)
        m.d.comb += [lines.w_en.eq(valid & arriving.last), written.tag.eq(arriving.tag),
                     written.poison.eq(arriving.poison), written.data.eq(Cat(line_data, chunk_data)),
                     self.line_served.eq(valid & arriving.last & ~arriving.poison), self.line_view.eq(arriving.k)]

        queued = data.View(_LineLayout, lines.r_data)
        drs = self.drs
        m.d.comb += [drs.valid.eq(lines.r_rdy), drs.payload.opcode.eq(DRSOpcode.MEM_DATA),
                     drs.payload.tag.eq(queued.tag), drs.payload.poison.eq(queued.poison),
                     drs.payload.data.eq(queued.data), lines.r_en.eq(drs.ready)]
        m.d.sync += outstanding.eq(outstanding + (take & (chunk == 0)) - (drs.valid & drs.ready))
        m.d.comb += self.busy.eq(front_valid | head_valid | (outstanding != 0))
        return m
