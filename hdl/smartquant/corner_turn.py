"""Corner turns between bit-planes and host lines (``docs/smartquant.md``, section *Corner turn*).

- Read side, :class:`ViewChunkAssembler`: one *chunk* (``lane_bits`` bits) of line ``l`` of
  view ``k`` of one group. Output bit ``i`` of chunk ``c`` is stream bit
  ``s = 512 l + lane_bits c + i``: code bit ``b = s mod k`` of weight ``j = s div k``, i.e.
  plane ``k - 1 - b`` at bit ``j``. A chunk's weights lie in two consecutive *spans*
  (``lane_bits``-weight slices of a plane), starting at :func:`first_span`; the controller
  reads those two spans of every plane (offsets 0 and 1). Which bit of them feeds which output
  bit depends only on ``k`` and the chunk's *phase* ``(l * chunks + c) mod k``
  (:func:`chunk_phase`), so one AND-OR per output bit with one term per ``(k, phase)``
  (36 at most), its selects decoded a cycle ahead, does the whole turn, whatever the lane
  width. With ``lane_bits = 512`` a chunk is the whole line.
- Write side, :func:`planes_from_int8_line`: one INT8 line as a 64-bit piece of each of the
  8 planes, pure wiring (plane ``p`` bit ``j`` is bit ``7 - p`` of weight ``j``).
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import PLANES

from .cxl_mem import LINE_BITS

__all__ = ["LANE_WIDTHS", "PlanesLayout", "SpansLayout", "ViewChunkAssembler", "chunk_phase", "first_span",
           "line_start", "planes_from_int8_line", "view_chunk_sources", "view_line_sources"]

PlanesLayout = data.ArrayLayout(LINE_BITS, PLANES)

LANE_WIDTHS = (64, 128, 256, 512)
"""Allowed chunk widths: a divisor of the line that keeps a chunk inside two spans."""


def check_lane_bits(lane_bits) -> int:
    if not isinstance(lane_bits, int) or isinstance(lane_bits, bool) or lane_bits not in LANE_WIDTHS:
        raise ValueError(f"lane_bits must be one of {LANE_WIDTHS}, got {lane_bits!r}")
    return lane_bits


def first_span(k: int, line: int, chunk: int, lane_bits: int) -> int:
    """Index of the first span (``lane_bits`` weights of a plane) that the chunk reads."""
    return (LINE_BITS * line + lane_bits * chunk) // k // lane_bits


def chunk_phase(k: int, line: int, chunk: int, lane_bits: int) -> int:
    """The chunk's phase, ``(line * chunks + chunk) mod k``: with ``k`` it fixes the chunk's wiring."""
    return (line * (LINE_BITS // lane_bits) + chunk) % k


def line_start(m, k, line, lane_bits: int):
    """Signals decoded from Amaranth values ``k`` (1..8) and ``line`` (0..k-1): the first span and
    the phase of the line's chunk 0 (:func:`first_span`, :func:`chunk_phase`); 0 for other codes."""
    first = Signal(range(LINE_BITS // lane_bits), name="start_first")
    phase = Signal(3, name="start_phase")
    with m.Switch(Cat(line, k)):
        for view in range(1, PLANES + 1):
            for index in range(view):
                with m.Case(index | view << 3):
                    m.d.comb += [first.eq(first_span(view, index, 0, lane_bits)),
                                 phase.eq(chunk_phase(view, index, 0, lane_bits))]
    return first, phase


def view_chunk_sources(k: int, line: int, chunk: int, lane_bits: int) -> list[tuple[int, int, int]]:
    """``(plane, offset, bit)`` feeding each bit of chunk ``chunk`` of line ``line`` of view ``k``.

    ``offset`` (0 or 1) is the weight's span counted from :func:`first_span`, ``bit`` its
    position in the span.
    """
    first = first_span(k, line, chunk, lane_bits)
    sources = []
    for i in range(lane_bits):
        weight, bit = divmod(LINE_BITS * line + lane_bits * chunk + i, k)
        offset = weight // lane_bits - first
        assert offset in (0, 1)
        sources.append((k - 1 - bit, offset, weight % lane_bits))
    return sources


def view_line_sources(k: int, line: int) -> list[tuple[int, int]]:
    """``(plane, weight)`` feeding each of the 512 bits of line ``line`` of view ``k``."""
    return [(plane, weight) for plane, _, weight in view_chunk_sources(k, line, 0, LINE_BITS)]


def SpansLayout(lane_bits: int) -> data.ArrayLayout:
    """``spans[plane][offset]``: the two consecutive spans of every plane a chunk reads."""
    return data.ArrayLayout(data.ArrayLayout(lane_bits, 2), PLANES)


class ViewChunkAssembler(wiring.Component):
    """One chunk of a host line of view ``k`` from two spans of every plane, described a cycle ahead.

    The chunk's description (``k``, ``phase``, ``used``, ``zero``) is given one cycle before its
    spans and decoded into registers: one select bit per ``(k, phase)`` case and plane kept
    (``plane < used``), and one fill bit per output bit. So the spans, which leave the plane
    store's registers, pass through an AND-OR of at most 36 terms per output bit and nothing
    else.

    Parameters
    ----------
    lane_bits : int
        Chunk width, one of :data:`LANE_WIDTHS`; a line is ``512 / lane_bits`` chunks.

    Members
    -------
    k : In(4)
        View, 1..8, of the chunk whose spans arrive in the next cycle.
    phase : In(3)
        Its :func:`chunk_phase`, ``0 .. k-1``.
    used : In(4)
        Planes used, ``1 .. k``; planes ``used .. k-1`` read as the fill ``1, 0, 0, ...``.
    zero : In(1)
        The chunk reads as zeros (a poisoned response).
    spans : In(SpansLayout(lane_bits))
        Spans ``first_span(...)`` (offset 0) and the next (offset 1) of every plane (only the
        first ``used`` planes are read), one cycle after their description.
    o : Out(lane_bits)
        The chunk, combinational from ``spans`` and the registered decode.
    """

    def __init__(self, lane_bits: int = LINE_BITS):
        self.lane_bits = check_lane_bits(lane_bits)
        self.chunks = LINE_BITS // lane_bits
        super().__init__({
            "k": In(4),
            "phase": In(3),
            "used": In(4),
            "zero": In(1),
            "spans": In(SpansLayout(lane_bits)),
            "o": Out(lane_bits),
        })

    def elaborate(self, platform):
        m = Module()
        lane = self.lane_bits
        data_terms = [[] for _ in range(lane)]         # (select, span bit) per output bit
        fill_terms = [[] for _ in range(lane)]         # this cycle's "reads the fill plane" per output bit
        for k in range(1, PLANES + 1):
            for phase in range(k):
                line, chunk = divmod(phase, self.chunks)          # a chunk with this phase
                sources = view_chunk_sources(k, line, chunk, lane)
                case = Signal(name=f"case_{k}_{phase}")
                m.d.comb += case.eq((self.k == k) & (self.phase == phase) & ~self.zero)
                keep, fill = [], []
                for p in range(k):
                    kept = Signal(name=f"keep_{k}_{phase}_{p}", reset_less=True)
                    filled = Signal(name=f"fill_{k}_{phase}_{p}")
                    m.d.sync += kept.eq(case & (self.used > p))
                    m.d.comb += filled.eq(case & (self.used == p))
                    keep.append(kept)
                    fill.append(filled)
                for i, (p, offset, j) in enumerate(sources):
                    data_terms[i].append(keep[p] & self.spans[p][offset][j])
                    fill_terms[i].append(fill[p])
        fill_bits = Signal(lane, reset_less=True)
        m.d.sync += fill_bits.eq(Cat(*(Cat(*terms).any() for terms in fill_terms)))
        m.d.comb += self.o.eq(Cat(*(Cat(fill_bits[i], *terms).any() for i, terms in enumerate(data_terms))))
        return m


def planes_from_int8_line(line) -> list:
    """The 64-bit pieces of the 8 planes (as ``Cat`` values) in one INT8 line (512 bits).

    Plane ``p`` bit ``j`` is bit ``7 - p`` of weight ``j`` (weight ``j`` is line bits ``8 j .. 8 j + 7``).
    """
    return [Cat(*(line[j * 8 + PLANES - 1 - p] for j in range(LINE_BITS // 8))) for p in range(PLANES)]
