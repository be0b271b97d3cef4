"""Corner turns between bit-planes and host lines (``docs/smartquant.md``, section *Corner turn*).

- Read side, :class:`ViewLineAssembler`: line ``l`` of view ``k`` of one group, from
  the group's planes, using its first ``e`` planes and the midpoint fill ``10...0``
  for the rest. Output bit ``i`` is stream bit ``s = 512 l + i``: code bit
  ``b = s mod k`` of weight ``j = s div k``, i.e. plane ``k - 1 - b`` at bit ``j``.
  Every (k, l) pair is pure wiring; one 36-way multiplexer per output bit picks the pair.
- Write side, :func:`planes_from_int8_lines`: the 8 INT8 lines of a group as 8 planes,
  pure wiring (plane ``p`` bit ``j`` is bit ``7 - p`` of weight ``j``).
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.bitplane import GROUP, PLANES

from .cxl_mem import LINE_BITS

__all__ = ["PlanesLayout", "ViewLineAssembler", "planes_from_int8_lines", "view_line_sources"]

PlanesLayout = data.ArrayLayout(LINE_BITS, PLANES)


def view_line_sources(k: int, line: int) -> list[tuple[int, int]]:
    """``(plane, weight)`` feeding each of the 512 bits of line ``line`` of view ``k``."""
    sources = []
    for i in range(LINE_BITS):
        weight, bit = divmod(line * LINE_BITS + i, k)
        sources.append((k - 1 - bit, weight))
    return sources


class ViewLineAssembler(wiring.Component):
    """Combinational: one host line of view ``k`` from a group's planes.

    Members
    -------
    planes : In(PlanesLayout)
        The group's 8 planes (only the first ``used`` are read).
    k : In(4)
        View, 1..8.
    line : In(3)
        Line of the group, ``0 .. k-1``.
    used : In(4)
        Planes used, ``1 .. k``; planes ``used .. k-1`` read as the fill ``1, 0, 0, ...``.
    o : Out(LINE_BITS)
    """

    planes: In(PlanesLayout)
    k: In(4)
    line: In(3)
    used: In(4)
    o: Out(LINE_BITS)

    def elaborate(self, platform):
        m = Module()
        filled = Signal(PlanesLayout)            # planes with the unfetched ones replaced by the fill
        for p in range(PLANES):
            with m.If(p < self.used):
                m.d.comb += filled[p].eq(self.planes[p])
            with m.Elif(p == self.used):
                m.d.comb += filled[p].eq(-1)
            with m.Else():
                m.d.comb += filled[p].eq(0)
        with m.Switch(Cat(self.line, self.k)):
            for k in range(1, PLANES + 1):
                for line in range(k):
                    with m.Case(line | k << 3):
                        bits = [filled[plane][weight] for plane, weight in view_line_sources(k, line)]
                        m.d.comb += self.o.eq(Cat(*bits))
        return m


def planes_from_int8_lines(lines) -> list:
    """The 8 planes (as ``Cat`` values) of a group given its 8 INT8 lines (``lines[l]`` 512 bits)."""
    planes = []
    for p in range(PLANES):
        bit = PLANES - 1 - p
        planes.append(Cat(*(lines[j // 64][(j % 64) * 8 + bit] for j in range(GROUP))))
    return planes
